"""The I/O that drives the sans-I/O core: sockets, Kafka clients, the clock, files, processes.

No protocol decision is made here; every one is the core's (``gateway.core``). One job per
module: ``server`` (ports, handshake, drain), ``connection`` (one client: feed its session, send
its frames), ``dispatch`` (run a session's commands), ``hub`` (what connections share),
``tail`` (one shared tail reader per topic), ``catchup`` (bounded, fair catch-up readers),
``kafka_io`` (decoding, topic snapshots), ``topic_id`` (the epoch: Kafka topic ids via
Metadata v12), ``publisher``, ``audit`` (the access-audit writer), ``ops`` (/healthz /readyz
/metrics), ``static_files``, ``http``, ``wire``, ``tls``, ``metrics``, ``settings`` and ``cli``
(``regstream gateway``, ``regstream token``).
"""
