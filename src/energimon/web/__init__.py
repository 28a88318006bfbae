"""The web application: pages for the energy team and facility managers, one-click links from alert mails,
and the public CO₂ barometer.

Kept light on import: the settings model (:mod:`energimon.web.settings`) and the signed mail links
(:mod:`energimon.web.links`) are imported by the configuration and the alert mails without pulling in
Starlette; the application itself is :func:`energimon.web.app.create_app`.
"""
