"""Use cases of case-based payment that read and write the store (budget, month run, clearing, special
reviews): the only part of ``yibao.payment`` allowed past the pure-domain boundary (pyproject: the
``pure-domain`` contract ignores its imports of the store and the journal)."""
