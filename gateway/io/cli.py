"""`regstream gateway` and `regstream token mint|check` (registered through the ``regstream.cli``
entry point, so ``streams`` never imports the gateway).

``gateway`` prints one machine-readable line when it listens
(``REGSTREAM_GATEWAY_READY {"port": …, "ops_port": …, "ws": …, "dashboard": …}``), so
supervisors and tests started with ``--port 0`` learn the ports it bound. Logs are JSON lines on
stderr (structlog) with connection ids, never tokens.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections.abc import MutableMapping
from typing import Any

import structlog
import typer

from gateway.core.auth import mint_token
from gateway.core.errors import GatewayError
from gateway.io.jwks import verifier_for
from gateway.io.settings import DEV_JWT_KID, load_gateway_settings
from gateway.io.tls import TlsConfigError
from streams import reconnect
from streams.logs import Repeats, bound_repeats
from streams.settings import load_settings


def configure_logging(level: str = "info") -> None:
    """JSON lines from the gateway itself, Kafka clients' warnings as text; in both, a warning
    that repeats is one line per window with a count (a broker that goes away is a few lines,
    not a flood: :mod:`streams.logs`)."""
    logging.basicConfig(stream=sys.stderr, level=level.upper(), format="%(message)s")
    bound_repeats(logging.root.handlers)
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    logging.getLogger("websockets").setLevel(logging.WARNING)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            HoldRepeats(),
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )


class HoldRepeats:
    """structlog processor: :class:`~streams.logs.Repeats` for the gateway's own warnings, one
    kind per (level, event, topic); a passed event carries ``repeats_held`` when it held any."""

    def __init__(self) -> None:
        self.repeats = Repeats()

    def __call__(
        self, logger: Any, method: str, event: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        if event.get("level") not in ("warning", "error", "critical"):
            return event
        verdict = self.repeats.admit((event["level"], event.get("event"), event.get("topic")))
        if verdict is None:
            raise structlog.DropEvent
        if verdict[0]:
            event["repeats_held"] = verdict[0]
        return event


def gateway_command(
    host: str | None = typer.Option(None, help="Public address (default 127.0.0.1)."),
    port: int | None = typer.Option(None, help="Public port; 0 picks a free one (default 8080)."),
    ops_host: str | None = typer.Option(None, help="Ops address (default 127.0.0.1)."),
    ops_port: int | None = typer.Option(None, help="Ops port; 0 picks a free one (default 9108)."),
    log_level: str = typer.Option("info", help="debug, info, warning, error."),
) -> None:
    """Run the WebSocket gateway until SIGTERM (then drain: checkpoint + close 4000)."""
    from gateway.io.server import run

    reconnect.install()
    configure_logging(log_level)
    settings = load_gateway_settings(host=host, port=port, ops_host=ops_host, ops_port=ops_port)
    try:
        asyncio.run(run(load_settings(), settings))
    except TlsConfigError as err:  # an operator's mistake: one line, no traceback
        typer.echo(f"regstream gateway: {err}", err=True)
        raise typer.Exit(2) from None


token_app = typer.Typer(help="Dev JWTs for the gateway (HS256, the dev key).", no_args_is_help=True)


@token_app.command("mint")
def mint(
    sub: str = typer.Option("dev", help="Subject."),
    topic: list[str] = typer.Option(["*"], help="Readable topic pattern (repeatable)."),
    publish: list[str] = typer.Option([], help="Publishable type pattern (repeatable)."),
    ttl: int = typer.Option(3600, help="Lifetime in seconds."),
    replay_horizon: int | None = typer.Option(None, help="How far back replay may go, s."),
    role: str = typer.Option("default", help="Limit profile."),
) -> None:
    """Print a token signed with the dev key (REGSTREAM_JWT_SECRET), for the configured
    audience and issuer."""
    base, gw = load_settings(), load_gateway_settings()
    token = mint_token(
        base.jwt_secret.get_secret_value(),
        sub=sub,
        audience=gw.jwt_audience,
        issuer=gw.jwt_issuer,
        now_s=int(time.time()),
        kid=DEV_JWT_KID,
        topics=topic,
        publish=publish,
        replay_horizon_s=replay_horizon,
        role=role,
        lifetime_s=ttl,
    )
    try:  # a token the gateway would refuse is no use to anyone: say why instead
        verifier_for(gw.auth_config(base)[0]).verify(token)
    except GatewayError as err:
        typer.secho(f"error: the gateway would refuse it: {err.message}", err=True, fg="red")
        raise typer.Exit(2) from None
    except ValueError as err:  # the gateway would not even start with these keys
        typer.secho(f"error: {err}", err=True, fg="red")
        raise typer.Exit(2) from None
    typer.echo(token)


@token_app.command("check")
def check(token: str = typer.Argument(..., help="The JWT to verify.")) -> None:
    """Verify a token as the gateway would and print what it grants (exit 1 if refused)."""
    auth, _ = load_gateway_settings().auth_config(load_settings())
    try:
        who = verifier_for(auth).verify(token)
    except GatewayError as err:
        typer.echo(f"refused: {err.code}: {err.message}", err=True)
        raise typer.Exit(1) from None
    typer.echo(
        f"sub={who.sub} role={who.role} topics={list(who.topics)} publish={list(who.publish)} "
        f"replay_horizon_s={who.replay_horizon_s} expires_at_ms={who.expires_at_ms}"
    )
