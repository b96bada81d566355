"""Every health probe of the starter's three services, in one place.

=========  ===============================================  =================================
service    probe                                            answered by
=========  ===============================================  =================================
web        ``GET /healthz`` (alive), ``GET /readyz``         :mod:`web.health.views`
           (database, Redis, migrations at head)
realtime   ``GET /healthz`` on its websocket port           ``erlen.realtime.RealtimeServer``
worker     ``python -m worker --check`` (heartbeat age)     ``erlen.ext.jobs`` (``worker_main``)
=========  ===============================================  =================================

Containers have no curl: their health checks run ``python -m web.health URL``
(:mod:`web.health.probe`) against the HTTP probes. So that it starts fast, this package and
the probe import nothing from the app; only :mod:`web.health.views` does.
"""
