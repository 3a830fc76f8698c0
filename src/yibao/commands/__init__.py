"""Command groups of the ``yibao`` CLI; each module exposes ``register(app)``."""
