"""Use-cases: validate, write, return what happened. No web framework here."""
