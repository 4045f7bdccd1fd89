"""The sans-I/O protocol core (STYLE.md §1, like ``websockets/protocol.py``).

:class:`~gateway.core.session.Session` is one connection's state machine. The I/O layer feeds
it ``receive_frame``, ``on_start_resolved`` / ``on_resolve_failed`` (answers to
``ResolveTopic``), ``on_tail_record`` / ``on_tail_position`` (after ``WatchTopic``),
``on_catchup_record`` / ``on_catchup_position`` (after ``StartCatchUp``), ``on_published`` /
``on_publish_failed`` (after ``PublishEvent``), ``on_send_buffer``, ``tick``, ``begin_drain``
and ``fail``; after each call it sends ``take().frames``, runs ``take().commands`` in order and
honours ``take().close``. Every call takes ``now_ms``: nothing here reads a clock.

One job per module: ``session`` (frames, limits, publish, checkpoints, time, shutdown),
``delivery`` (where records come from: tail, catch-up, slow-client demotion), ``subscription``
(the delivery rule and start planning), ``frames`` (client parsing, server frames), ``records``
(serialised once, shared by every session), ``filters``, ``tokens`` (resume tokens),
``commands`` (the boundary: inputs, commands, outputs), ``limits`` and ``budget`` (rates,
connection caps, send budget), ``auth`` / ``origin`` / ``handshake`` (what a handshake must
show; key fetching is the I/O layer's), ``errors`` (the error tree and close-code table).
"""
