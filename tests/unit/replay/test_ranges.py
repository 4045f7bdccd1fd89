from __future__ import annotations

import pytest

from streams.replay.ranges import (
    AtOffsets,
    AtTime,
    Edge,
    Lookups,
    OffsetRange,
    describe,
    parse_bound,
    plan_ranges,
)

MAY_1 = 1_777_593_600_000  # 2026-05-01T00:00:00Z


@pytest.mark.parametrize(
    ("text", "bound"),
    [
        ("earliest", Edge.EARLIEST),
        (" LATEST ", Edge.LATEST),
        ("2026-05-01", AtTime(MAY_1)),
        ("2026-05-01T00:00:00Z", AtTime(MAY_1)),
        ("2026-05-01T00:00:00", AtTime(MAY_1)),  # no zone: UTC
        ("2026-05-01T02:00:00+02:00", AtTime(MAY_1)),
        ("2026-05-01T00:00:00.250Z", AtTime(MAY_1 + 250)),
        (str(MAY_1), AtTime(MAY_1)),
        ("0:100", AtOffsets({0: 100})),
        ("2:5,0:100", AtOffsets({2: 5, 0: 100})),
    ],
)
def test_parse_bound(text: str, bound: object) -> None:
    assert parse_bound(text) == bound


@pytest.mark.parametrize("text", ["yesterday", "0:1,0:2", "0:", "-5", "2026-13-01", ""])
def test_malformed_bounds_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_bound(text)


def test_describe_reads_back() -> None:
    assert describe(AtTime(MAY_1 + 250)) == "2026-05-01T00:00:00.250Z"
    assert describe(AtOffsets({2: 5, 0: 100})) == "0:100,2:5"
    assert describe(Edge.LATEST) == "latest"


def lookups(**over: object) -> Lookups:
    values: dict[str, object] = {
        "partitions": [0, 1, 2],
        "log_start": {0: 0, 1: 10, 2: 0},
        "log_end": {0: 50, 1: 60, 2: 0},
        "lower_times": {},
        "upper_times": {},
    }
    return Lookups(**(values | over))  # type: ignore[arg-type]


def test_earliest_to_latest_covers_every_partition() -> None:
    plan = plan_ranges(Edge.EARLIEST, Edge.LATEST, lookups())
    assert plan == {0: OffsetRange(0, 50), 1: OffsetRange(10, 60), 2: OffsetRange(0, 0)}


def test_times_resolve_per_partition_and_none_means_the_end() -> None:
    look = lookups(lower_times={0: 7, 1: None, 2: None}, upper_times={0: 20, 1: None, 2: None})
    plan = plan_ranges(AtTime(1), AtTime(2), look)
    assert plan == {0: OffsetRange(7, 20), 1: OffsetRange(60, 60), 2: OffsetRange(0, 0)}


def test_offsets_select_their_partitions_and_default_the_other_bound() -> None:
    plan = plan_ranges(AtOffsets({1: 15}), AtOffsets({2: 0, 1: 30}), lookups())
    assert plan == {1: OffsetRange(15, 30), 2: OffsetRange(0, 0)}
    assert plan_ranges(AtOffsets({0: 5}), Edge.LATEST, lookups()) == {0: OffsetRange(5, 50)}


def test_end_is_clamped_to_the_log_end_and_never_before_the_start() -> None:
    plan = plan_ranges(AtOffsets({0: 40}), AtOffsets({0: 999}), lookups())
    assert plan == {0: OffsetRange(40, 50)}
    assert plan_ranges(AtOffsets({0: 40}), AtOffsets({0: 10}), lookups()) == {
        0: OffsetRange(40, 40)
    }


def test_a_start_below_the_log_start_is_kept_for_the_loss_report() -> None:
    assert plan_ranges(AtOffsets({1: 0}), Edge.LATEST, lookups()) == {1: OffsetRange(0, 60)}


def test_unknown_partition_is_an_error() -> None:
    with pytest.raises(ValueError, match="no partition 7"):
        plan_ranges(AtOffsets({7: 0}), Edge.LATEST, lookups())
