"""TLS files: usable ones load; every mistake is one sentence naming the file and the problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.io.tls import TlsConfigError, hsts_header, load_tls
from tests.pki import write_pair


def test_no_tls_and_a_good_pair(tmp_path: Path) -> None:
    assert load_tls(None, None) is None
    cert, key = write_pair(tmp_path, "a")
    assert load_tls(cert, key) is not None
    combined = tmp_path / "combined.pem"
    combined.write_bytes(cert.read_bytes() + key.read_bytes())
    assert load_tls(combined, None) is not None


def mistakes(tmp: Path) -> list[tuple[str, Path | None, Path | None, str]]:
    cert, key = write_pair(tmp, "a")
    _, other_key = write_pair(tmp, "b")
    _, locked_key = write_pair(tmp, "c", passphrase=b"secret")
    junk = tmp / "junk.pem"
    junk.write_text("not a PEM file\n")
    (tmp / "dir").mkdir()
    return [
        (
            "missing cert",
            tmp / "nope.crt",
            key,
            f"TLS certificate {tmp / 'nope.crt'}: No such file",
        ),
        ("missing key", cert, tmp / "nope.key", f"TLS key {tmp / 'nope.key'}: No such file"),
        ("directory", tmp / "dir", key, f"TLS certificate {tmp / 'dir'}: is a directory"),
        ("junk cert", junk, key, f"TLS certificate {junk}: no PEM certificate"),
        ("key as cert", key, cert, f"TLS certificate {key}: no PEM certificate"),
        ("junk key", cert, junk, f"TLS key {junk}: no usable PEM private key"),
        ("mismatch", cert, other_key, f"TLS key {other_key}: the private key does not belong"),
        ("encrypted", cert, locked_key, f"TLS key {locked_key}: the private key is encrypted"),
        ("no key at all", cert, None, f"TLS certificate {cert}: no private key in it"),
        ("key without cert", None, key, f"TLS key {key}: tls_key is set without tls_cert"),
    ]


def test_every_mistake_is_one_line_naming_the_file(tmp_path: Path) -> None:
    """Regression: a TLS mistake surfaced as a raw ``ssl.SSLError`` traceback ("PEM lib")."""
    for name, cert, key, message in mistakes(tmp_path):
        with pytest.raises(TlsConfigError) as refused:
            load_tls(cert, key)
        text = str(refused.value)
        assert text.startswith(message), (name, text)
        assert "\n" not in text, name


def test_hsts_header() -> None:
    assert hsts_header(31536000) == ("Strict-Transport-Security", "max-age=31536000")
    assert hsts_header(0) is None
