"""The Python client SDK of the regstream gateway.

``async for item in client.subscribe(topic)`` yields every event once, in partition order, and
every loss explicitly (:class:`Gap`), across gateway restarts, network failures and JWT expiry.
See docs/reference/client.md. Modules, each with one job:

* ``connection``: :class:`Client`, the reconnect loop and frame handling;
* ``subscriptions``: what is re-sent on each connection, and the iterator;
* ``publishing``: publish bookkeeping (one ``event_id`` for every retry);
* ``backoff``, ``policy``, ``dedupe``, ``progress``: pure decisions, unit-tested;
* ``messages``: :class:`Event`, :class:`Gap` and frame parsing; ``errors``: the error tree.
"""

from gateway.client.backoff import Backoff
from gateway.client.connection import Client, State
from gateway.client.dedupe import Position, PositionDeduper
from gateway.client.errors import (
    AuthenticationFailed,
    ClientClosed,
    ClientError,
    ConnectionTerminated,
    HandshakeRejected,
    PublishFailed,
    ResumeTokenRejected,
    SubscriptionRefused,
)
from gateway.client.messages import GAP_TOKEN_REJECTED, Event, Gap
from gateway.client.publishing import Published
from gateway.client.subscriptions import Subscription

__all__ = [
    "GAP_TOKEN_REJECTED",
    "AuthenticationFailed",
    "Backoff",
    "Client",
    "ClientClosed",
    "ClientError",
    "ConnectionTerminated",
    "Event",
    "Gap",
    "HandshakeRejected",
    "Position",
    "PositionDeduper",
    "PublishFailed",
    "Published",
    "ResumeTokenRejected",
    "State",
    "Subscription",
    "SubscriptionRefused",
]
