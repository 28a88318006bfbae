"""The fault-injection suite.

A package (unlike the rest of tests/) only so that its ``conftest.py`` is imported as
``faults.conftest``: without it, pytest would import it as ``conftest`` too, and the test
modules doing ``from conftest import InfluxServer`` (tests/conftest.py) would get this one.
"""
