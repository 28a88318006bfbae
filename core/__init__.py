"""energimon: building energy monitoring for Danish municipalities."""

__version__ = "0.1.0"
