"""The materialised daily statistics: the pure SQL and watermark, then refreshes on a real chDB."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from leadstream.storage.daily_stats import (
    STATS_COLUMNS,
    Refresh,
    changed_pairs_sql,
    changes_since,
    refresh_daily_stats,
    refresh_sql,
)
from leadstream.storage.warehouse import Warehouse
from leadstream.streams.rows import EVENT_COLUMNS
from tests.storage.conftest import event

D1, D2 = datetime(2026, 3, 1, 9, tzinfo=UTC), datetime(2026, 3, 2, 9, tzinfo=UTC)
D3 = datetime(2026, 4, 5, 9, tzinfo=UTC)  # another month: another partition of the stats table
CALL_COLUMNS = ("call_id", "site_id", "received_at", "status", "version")


# --- pure parts ------------------------------------------------------------------------------
def test_changes_are_looked_for_from_the_last_refresh_less_the_margin() -> None:
    last = datetime(2026, 3, 1, 12, 0, 0, 500_000)
    assert changes_since(last, 10.0) == datetime(2026, 3, 1, 11, 59, 50, 500_000)
    assert changes_since(None, 10.0) is None  # no refresh completed yet: everything


def test_changed_pairs_come_from_every_source_by_insert_time() -> None:
    sql = changed_pairs_sql(("events", "calls"))
    assert sql.count("inserted_at >= {since:DateTime64(3, 'UTC')}") == 2
    assert "FROM events " in sql and "FROM calls " in sql and " UNION DISTINCT " in sql


def test_refresh_recomputes_from_the_exact_view_all_or_only_the_changed_pairs() -> None:
    full, incremental = refresh_sql(incremental=False), refresh_sql(incremental=True)
    for sql in (full, incremental):
        assert sql.startswith(f"INSERT INTO daily_site_stats ({', '.join(STATS_COLUMNS)}, refreshed_at) SELECT")
        assert "FROM daily_site_stats_v" in sql and "{refreshed_at:DateTime64(3, 'UTC')}" in sql
    assert "WHERE" not in full
    assert incremental.endswith(f"WHERE (site_id, day) IN ({changed_pairs_sql()})")


# --- on chDB ---------------------------------------------------------------------------------
async def insert_events(w: Warehouse, rows: list[list[object]], inserted_at: datetime | None = None) -> None:
    columns, tail = (EVENT_COLUMNS, []) if inserted_at is None else ((*EVENT_COLUMNS, "inserted_at"), [inserted_at])
    await w.insert("events", columns, [[*r, *tail] for r in rows], token=str(uuid.uuid4()))


async def insert_calls(w: Warehouse, *calls: tuple[str, datetime, str]) -> None:
    rows = [[uuid.uuid4(), site, at, status, 1] for site, at, status in calls]
    await w.insert("calls", CALL_COLUMNS, rows, token=str(uuid.uuid4()))


def refresh(w: Warehouse, margin_s: float = 10.0) -> Refresh:
    return w.sync(lambda c: refresh_daily_stats(c, margin_s))


def stats(w: Warehouse, view: str, extra: str = "") -> list[tuple[object, ...]]:
    sql = f"SELECT {', '.join(STATS_COLUMNS)}{extra} FROM {view} ORDER BY site_id, day"
    return w.sync(lambda c: c.query(sql).result_rows)


def materialised(w: Warehouse) -> list[tuple[object, ...]]:
    return stats(w, "daily_site_stats_mat_v")


async def test_refreshes_materialise_the_exact_view_recomputing_only_what_changed(warehouse: Warehouse) -> None:
    s1, s2 = uuid.uuid4(), uuid.uuid4()
    await insert_events(
        warehouse,
        [
            event(site_id="a", received_at=D1, session_id=s1, category="conversion", action="form_submit", score=75),
            event(site_id="a", received_at=D1, session_id=s1),
            event(site_id="a", received_at=D1, session_id=s2, category="system", action="heartbeat", score=0),
            event(site_id="b", received_at=D1, session_id=s2),
        ],
    )
    await insert_calls(warehouse, ("a", D1, "matched"), ("a", D1, "unmatched"), ("c", D2, "matched"))
    first = refresh(warehouse)
    assert first.changes_since is None  # nothing refreshed before: all recomputed
    assert materialised(warehouse) == stats(warehouse, "daily_site_stats_v")
    assert materialised(warehouse)[0][1:] == (D1.date(), 3, 2, 1, 2, 1, 42.5)  # (site a) no row for calls alone
    assert first.site_days == 2

    await insert_events(
        warehouse, [event(site_id="a", received_at=D1, session_id=s1), event(site_id="a", received_at=D3)]
    )
    await insert_calls(warehouse, ("a", D3, "matched"))
    second = refresh(warehouse, margin_s=0)  # (with the default margin, b's rows would still be in reach)
    assert second.changes_since == first.refreshed_at
    assert second.site_days == 2  # (a, D1) and (a, D3)
    assert materialised(warehouse) == stats(warehouse, "daily_site_stats_v")
    assert len(materialised(warehouse)) == 3
    refreshed = {(r[0], r[1]): r[-1] for r in stats(warehouse, "daily_site_stats_mat_v", ", refreshed_at")}
    assert refreshed[("b", D1.date())] == first.refreshed_at  # unchanged, not recomputed
    assert refreshed[("a", D3.date())] == second.refreshed_at


async def test_rows_inserted_before_the_last_refresh_within_the_margin_are_picked_up(warehouse: Warehouse) -> None:
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)  # out of reach of the next refresh
    await insert_events(warehouse, [event(site_id="a", received_at=D1)], inserted_at=an_hour_ago)
    last = refresh(warehouse).refreshed_at.replace(tzinfo=UTC)
    # began (inserted_at) before the last refresh and committed after it had read: within the margin...
    await insert_events(warehouse, [event(site_id="a", received_at=D1)], inserted_at=last - timedelta(seconds=5))
    # ...and beyond it, an insert that took longer than the margin allows
    await insert_events(warehouse, [event(site_id="b", received_at=D1)], inserted_at=last - timedelta(seconds=60))
    assert refresh(warehouse, margin_s=10).site_days == 1
    exact = stats(warehouse, "daily_site_stats_v")
    assert materialised(warehouse) == [row for row in exact if row[0] == "a"]
    assert exact[0][2] == 2  # (a, D1) has both events
    refresh(warehouse, margin_s=120)  # a wider margin finds (b, D1) as well
    assert materialised(warehouse) == exact
