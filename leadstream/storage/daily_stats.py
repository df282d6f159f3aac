"""The materialised daily per-site statistics (``daily_site_stats``, migration 0006), refreshed
incrementally from what the warehouse holds, so a crash at any point is repaired by the next refresh.

A refresh, at warehouse time T:

1. reads the watermark: the start of the last refresh that completed (``daily_site_stats_refreshes``),
   less ``margin_s`` for inserts that took their ``inserted_at`` before it and committed after;
2. recomputes, from ``daily_site_stats_v`` (the exact view), every (site, day) with an events or
   calls row inserted since then, or every (site, day) when no refresh has completed yet;
3. inserts those rows with ``refreshed_at = T`` (ReplacingMergeTree: the newest refresh wins), and
   only then logs T, the next watermark.

A row committed before a refresh reads it is counted by that refresh; one committed later was
given its ``inserted_at`` after T - margin (an insert commits within the margin), so the next
refresh picks it up. A crash before step 3 ends leaves the old watermark: the work is redone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from clickhouse_connect.driver.client import Client

STATS_COLUMNS = ("site_id", "day", "events", "sessions", "conversions", "calls", "matched_calls", "avg_score")
WRITTEN_COLUMNS = (*STATS_COLUMNS, "refreshed_at")
SOURCES = ("events", "calls")  # the tables behind daily_site_stats_v; each has inserted_at
_TS = "DateTime64(3, 'UTC')"
_AT = f"refreshed_at = {{refreshed_at:{_TS}}}"
WATERMARK_SQL = "SELECT now64(3, 'UTC'), maxOrNull(refreshed_at) FROM daily_site_stats_refreshes"
LOG_SQL = (
    "INSERT INTO daily_site_stats_refreshes (refreshed_at, changes_since, site_days) "
    f"SELECT {{refreshed_at:{_TS}}}, {{since:Nullable({_TS})}}, {{written:UInt64}}"
)


@dataclass(frozen=True)
class Refresh:
    refreshed_at: datetime
    changes_since: datetime | None  # None: every (site, day) was recomputed
    site_days: int  # rows written

    def as_dict(self) -> dict[str, object]:
        since = self.changes_since.isoformat() if self.changes_since else None
        return {"refreshed_at": self.refreshed_at.isoformat(), "changes_since": since, "site_days": self.site_days}


def changes_since(last_refresh: datetime | None, margin_s: float) -> datetime | None:
    """Where this refresh looks for changes; None (everything) before the first refresh completes."""
    return None if last_refresh is None else last_refresh - timedelta(seconds=margin_s)


def changed_pairs_sql(sources: tuple[str, ...] = SOURCES) -> str:
    """(site_id, day) of the rows inserted since ``{since}``; the raw tables suffice (no FINAL)."""
    return " UNION DISTINCT ".join(
        f"SELECT site_id, toDate(received_at) FROM {table} WHERE inserted_at >= {{since:{_TS}}}" for table in sources
    )


def refresh_sql(incremental: bool) -> str:
    """Recompute from the exact view: the changed pairs only, or all of them."""
    columns = ", ".join(STATS_COLUMNS)
    where = f" WHERE (site_id, day) IN ({changed_pairs_sql()})" if incremental else ""
    return (
        f"INSERT INTO daily_site_stats ({', '.join(WRITTEN_COLUMNS)}) "
        f"SELECT {columns}, {{refreshed_at:{_TS}}} FROM daily_site_stats_v{where}"
    )


def refresh_daily_stats(client: Client, margin_s: float) -> Refresh:
    """One refresh (blocking; run it on the warehouse thread). Times stay warehouse times throughout."""
    started, last = client.query(WATERMARK_SQL).result_rows[0]
    since = changes_since(last, margin_s)
    params = {"refreshed_at": started, "since": since}
    client.command(refresh_sql(since is not None), parameters=params)
    written = client.query(f"SELECT count() FROM daily_site_stats WHERE {_AT}", parameters=params).result_rows[0][0]
    if written:
        client.command(LOG_SQL, parameters=params | {"written": written})
    return Refresh(started, since, int(written))
