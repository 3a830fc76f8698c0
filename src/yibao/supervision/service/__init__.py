"""Supervision's use cases: they alone reach the store (the rule library, runs, suspicions, warnings)."""
