"""Errors of the local broker tooling; each message says what the operator should do."""


class BrokerError(RuntimeError):
    """The local broker could not be fetched, started or stopped."""
