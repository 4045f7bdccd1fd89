"""The WebSocket gateway, in three packages you can tell apart by their folder:

* ``gateway.core``: the protocol, sans-I/O. Frames, sessions, subscriptions, delivery decisions,
  resume tokens, filters, limits, the send budget, handshake checks and the error tree with its
  close codes. It never touches a socket, a Kafka client, asyncio or the clock: it is fed client
  frames, Kafka records and answers, and returns frames to send and commands to run.
* ``gateway.io``: everything that drives the core: the server and its handshake, one
  ``Connection`` per client, shared and catch-up Kafka readers, the publisher, the access-audit
  writer, ops endpoints, static files, TLS, settings and the CLI.
* ``gateway.client``: the Python client SDK (``gateway/static/client.js`` is its browser twin).

``tests/unit/test_import_lint.py`` holds these directions: the core imports nothing of the I/O,
the client SDK only the error table of the core.
"""
