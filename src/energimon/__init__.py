"""energimon: building energy monitoring for Danish municipalities.

The repository is laid out along the data flow (docs/ARCHITECTURE.md): ``src/energimon/`` is this root package
(the data model, the mail and web delivery, the application), and the top-level folders ``collector/``,
``store/``, ``analytics/`` and ``config/`` are ``energimon.collector``, ``energimon.store``, … — an installation
puts them all under ``energimon/``.
"""

__version__ = "0.1.0"
