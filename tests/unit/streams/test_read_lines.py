"""`regstream produce` reads bounded lines: a file without newlines costs one line, not the file."""

from __future__ import annotations

import io

from streams.publish_file import LineTooLong, read_lines


def test_lines_come_back_with_their_newlines_and_the_last_without() -> None:
    assert list(read_lines(io.BytesIO(b"a\nbb\nccc"))) == [b"a\n", b"bb\n", b"ccc"]


def test_a_line_over_the_limit_is_one_failure_and_the_next_line_is_read() -> None:
    lines = list(read_lines(io.BytesIO(b"x" * 50 + b"\nok\n" + b"y" * 25), max_bytes=10))
    assert isinstance(lines[0], LineTooLong) and "(51+)" in str(lines[0])
    assert lines[1] == b"ok\n"
    assert isinstance(lines[2], LineTooLong)
    assert len(lines) == 3
