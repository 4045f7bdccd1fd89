"""Which wire format a deployment uses, from its settings: one place picks the codec.

Kept apart from ``codec.py`` so the formats depend on the shared decode path and not on each
other: ``codec`` (single-object) ← ``confluent`` ← this module.
"""

from __future__ import annotations

from typing import Any

from schemas.codec import AvroCodec, Codec
from schemas.confluent import ConfluentCodec
from schemas.limits import DEFAULT_LIMITS, DecodeLimits


def codec_for(
    wire_format: str,
    registry_url: str | None = None,
    *,
    limits: DecodeLimits = DEFAULT_LIMITS,
    **options: Any,
) -> Codec:
    """The codec for a settings value: ``"single-object"`` (default) or ``"confluent"``.

    ``options`` are passed to ``ConfluentCodec`` (``catalog``, ``timeout``).
    """
    if wire_format == "single-object":
        return AvroCodec(limits=limits)
    if wire_format == "confluent":
        if not registry_url:
            raise ValueError("the confluent wire format needs a schema registry URL")
        return ConfluentCodec(registry_url, limits=limits, **options)
    raise ValueError(f"unknown wire format {wire_format!r} (single-object | confluent)")
