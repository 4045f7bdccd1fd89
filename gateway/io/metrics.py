"""Prometheus metrics of one gateway process, in their own registry (served on the ops port).

A private registry keeps tests that start several gateways in one interpreter independent and
keeps the exposition to what operators need: connections, subscriptions, events and bytes sent,
the send budget, closes and aborts, catch-ups, gaps, auth failures, publishes and the tail lag
per topic.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge


class GatewayMetrics:
    def __init__(self) -> None:
        self.registry = r = CollectorRegistry()
        self.connections = Gauge("regstream_gateway_connections", "Open connections.", registry=r)
        self.connections_total = Counter(
            "regstream_gateway_connections_opened", "Accepted connections.", registry=r
        )
        self.subscriptions = Gauge(
            "regstream_gateway_subscriptions", "Active subscriptions.", registry=r
        )
        self.events_sent = Counter(
            "regstream_gateway_events_sent", "Events sent to clients.", registry=r
        )
        self.bytes_sent = Counter(
            "regstream_gateway_bytes_sent", "Frame bytes sent to clients.", registry=r
        )
        self.frames_received = Counter(
            "regstream_gateway_frames_received", "Client frames received.", registry=r
        )
        self.catchups = Counter(
            "regstream_gateway_catchups", "Catch-up readers started.", registry=r
        )
        self.catchup_shared = Counter(
            "regstream_gateway_catchup_shared_turns",
            "Catch-up turns served from what another reader just read (no Kafka fetch).",
            registry=r,
        )
        self.catchups_active = Gauge(
            "regstream_gateway_catchups_active", "Catch-up readers waiting or reading.", registry=r
        )
        self.gaps = Counter("regstream_gateway_gaps", "Gap frames sent.", registry=r)
        self.auth_failures = Counter(
            "regstream_gateway_auth_failures", "Refused handshakes.", ["reason"], registry=r
        )
        self.closes = Counter(
            "regstream_gateway_closes", "Connections closed by the gateway.", ["reason"], registry=r
        )
        self.aborts = Counter(
            "regstream_gateway_aborts",
            "Connections cut without a close handshake because the peer did not read.",
            ["reason"],
            registry=r,
        )
        self.send_budget_used = Gauge(
            "regstream_gateway_send_budget_used_bytes",
            "Bytes queued for all clients, against REGSTREAM_GATEWAY_SEND_BUDGET_BYTES.",
            registry=r,
        )
        self.publishes = Counter(
            "regstream_gateway_publishes", "Client publishes.", ["outcome"], registry=r
        )
        self.tail_lag = Gauge(
            "regstream_gateway_tail_lag",
            "Records between the tail reader and the last stable offset.",
            ["topic"],
            registry=r,
        )
        self.tail_readers = Gauge(
            "regstream_gateway_tail_readers", "Running shared tail readers.", registry=r
        )
        self.decode_errors = Counter(
            "regstream_gateway_decode_errors", "live.* records that did not decode.", registry=r
        )
        self.internal_errors = Counter(
            "regstream_gateway_internal_errors", "Unexpected exceptions.", registry=r
        )
        self.audit_failures = Counter(
            "regstream_gateway_audit_failures", "gateway.audit writes that failed.", registry=r
        )
