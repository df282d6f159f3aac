"""The status screen's pure parts: rates per group between two lag readings, and the rendering."""

from __future__ import annotations

from rich.console import Console

from leadstream.observability.lag import PartitionLag
from leadstream.observability.status import _groups, render


def test_rate_is_committed_growth_and_lag_is_summed_per_group() -> None:
    first = [PartitionLag("w-events", "e", 0, 10, 20), PartitionLag("w-events", "e", 1, 5, 5)]
    second = [PartitionLag("w-events", "e", 0, 30, 40), PartitionLag("w-events", "e", 1, 5, 9)]
    second.append(PartitionLag("w-sessions", "e", 0, 40, 40))  # first seen now: no rate yet
    assert _groups(first, second, 2.0) == [
        {"group": "w-events", "lag": 14, "committed_per_s": 10.0, "partitions": 2},
        {"group": "w-sessions", "lag": 0, "committed_per_s": 0.0, "partitions": 1},
    ]


def test_the_screen_names_what_is_wrong() -> None:
    status = {
        "at": "2026-12-03T16:00:00+00:00",
        "ok": False,
        "stack": {
            "edge": {"ok": True, "kafka": True, "sites": True, "redis": True},
            "worker": {"ok": False, "failing": ["events sink: stuck: no poll for 130s (threshold 120s)"], "loops": {}},
            "kafka": {"ok": True},
            "redis": {"ok": True},
            "warehouse": {"ok": False, "error": "not reachable"},
        },
        "groups": [{"group": "w-events", "lag": 1234, "committed_per_s": 0.0, "partitions": 4}],
        "dead_letters": [{"stage": "events", "reason": "invalid meta.fp", "n": 3, "last": "2026-12-03 15:59:00"}],
        "last_errors": [{"at": "2026-12-03T15:59:00", "where": "events sink", "error": "WarehouseUnavailable: down"}],
    }
    console = Console(width=160, record=True)
    console.print(render(status))
    text = console.export_text()
    for expected in ("unhealthy", "events sink: stuck", "w-events", "1234", "invalid meta.fp", "WarehouseUnavailable"):
        assert expected in text, expected
