"""TLS for the public port: load the certificate and key, or say in one line what is wrong.

A TLS mistake is an operator's configuration mistake, so it must read like one: which file,
what is wrong with it, and no traceback. :func:`load_tls` runs before the gateway touches Kafka
or a socket, so ``regstream gateway`` with a bad file exits at once (exit code 2). An encrypted
private key is refused rather than letting OpenSSL prompt for a passphrase on a terminal a
service does not have. HTTP responses served over TLS carry ``Strict-Transport-Security``
(:func:`hsts_header`), so a browser that once reached the dashboard over https never again
falls back to plain http for that host.
"""

from __future__ import annotations

import ssl
from pathlib import Path

MAX_PEM_BYTES = 1 << 20  # far above any certificate chain; a larger file is not one


class TlsConfigError(Exception):
    """A certificate or key that cannot be used; the message names the file and the problem."""


class _EncryptedKey(Exception):
    """Raised by the passphrase callback: OpenSSL asks for one only for an encrypted key."""


def _refuse_passphrase() -> bytes:
    raise _EncryptedKey


def _check_readable(path: Path, what: str) -> None:
    try:
        with path.open("rb") as handle:
            if len(handle.read(MAX_PEM_BYTES + 1)) > MAX_PEM_BYTES:
                raise TlsConfigError(f"{what} {path}: larger than {MAX_PEM_BYTES} bytes")
    except IsADirectoryError:
        raise TlsConfigError(f"{what} {path}: is a directory, not a PEM file") from None
    except OSError as exc:
        raise TlsConfigError(f"{what} {path}: {exc.strerror or exc}") from None


def _has_certificate(path: Path) -> bool:
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cafile=path)
    except ssl.SSLError:
        return False
    return True


def load_tls(cert: Path | None, key: Path | None) -> ssl.SSLContext | None:
    """The server context for ``cert``/``key`` (None: serve plain ws:// and http://)."""
    if cert is None:
        if key is not None:
            raise TlsConfigError(f"TLS key {key}: tls_key is set without tls_cert")
        return None
    _check_readable(cert, "TLS certificate")
    if key is not None:
        _check_readable(key, "TLS key")
    key_file = key or cert
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(cert, key, password=_refuse_passphrase)
    except _EncryptedKey:
        raise TlsConfigError(
            f"TLS key {key_file}: the private key is encrypted; give an unencrypted PEM key"
        ) from None
    except ssl.SSLError as exc:
        if exc.reason == "KEY_VALUES_MISMATCH":
            problem = f"TLS key {key_file}: the private key does not belong to certificate {cert}"
        elif not _has_certificate(cert):
            problem = f"TLS certificate {cert}: no PEM certificate in the file"
        elif key is None:
            problem = f"TLS certificate {cert}: no private key in it; set tls_key to the key file"
        else:
            problem = f"TLS key {key}: no usable PEM private key in the file"
        raise TlsConfigError(problem) from None
    return context


def hsts_header(max_age_s: int) -> tuple[str, str] | None:
    """The ``Strict-Transport-Security`` header for TLS responses (None when disabled)."""
    return ("Strict-Transport-Security", f"max-age={max_age_s}") if max_age_s > 0 else None
