"""yibao (医保): an open-source medical-insurance core platform."""

__version__ = "0.1.0"
