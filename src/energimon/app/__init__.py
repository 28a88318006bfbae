"""The application: the ``energimon`` command line, the daemon that runs collectors, spool writer and scheduled
jobs, the demo, ``energimon status``, the job-run log and the Prometheus endpoint.  The top layer: it may import
every other package; nothing imports it (see docs/ARCHITECTURE.md)."""
