"""Helpers shared by tests (importable as ``helpers.…``: the tests folder is on ``sys.path``)."""
