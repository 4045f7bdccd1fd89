"""The WebSocket gateway. The sans-I/O core (no sockets, no Kafka, no clock) is:

* ``session.Session``: one connection; frames, limits, publish, checkpoints, time, shutdown;
* ``delivery.Delivery`` and ``subscription``: where records come from, the delivery rule;
* ``frames`` (client parsing, server frames), ``records`` (shared serialization), ``filters``,
  ``tokens`` (resume tokens), ``auth`` (handshake JWT), ``limits``, ``errors`` (close codes);
* ``commands``: what the core asks of the I/O layer and the answers it takes back.

The I/O layer (``server.py``) owns sockets and Kafka clients and, per connection, feeds:
``receive_frame``, ``on_start_resolved`` / ``on_resolve_failed`` (answers to ``ResolveTopic``),
``on_tail_record`` / ``on_tail_position`` (after ``WatchTopic``), ``on_catchup_record`` /
``on_catchup_position`` (after ``StartCatchUp``), ``on_published`` / ``on_publish_failed``
(after ``PublishEvent``), ``on_send_buffer``, ``tick``, ``begin_drain`` and ``fail``; after each
call it sends ``take().frames``, runs ``take().commands`` in order and honours ``take().close``.

The I/O layer, one job per module: ``server`` (ports, handshake, drain), ``connection``
(one client: feed, send), ``dispatch`` (its commands), ``hub`` (what connections share),
``tail`` (one shared tail reader per topic), ``catchup`` (bounded, fair catch-up readers),
``kafka_io`` (decoding, topic snapshots), ``topic_id`` (the epoch: Kafka topic ids via
Metadata v12), ``publisher``, ``audit`` (``gateway.audit``), ``ops`` (/healthz /readyz
/metrics), ``static_files``, ``http``, ``metrics``, ``settings`` and ``cli``
(``regstream gateway``, ``regstream token``).
"""
