"""The hourly rollup ``stats_hourly``: per site, hour, dimension and value, the facts every metric
is computed from (a ``uniq`` state of the visitors, and sums), for the visits that started in
that hour. Dimension ``''`` holds the totals; ``event:page`` the pages; the others each visit
property.

Kept by the warehouse as events arrive, crash-safely, as the daily statistics are: a refresh
finds the visits with events inserted since the last completed refresh (less a margin), and
recomputes the whole hours they started in from ``events_v``. Rows are never updated in place:
each refresh writes an hour's rows anew with its own ``refreshed_at``, then records that
version in ``stats_hourly_hours``; readers take each hour's newest recorded version, so a
crash between the two leaves the previous version in force (the next refresh redoes the work),
and a value that vanished from an hour (an erased visitor's) is gone with the old version.
Superseded versions are deleted once they are a minute old.

The same refresh writes ``stats_visits`` for the same hours at the same version: one row per
visit (its properties, its facts, its pages' facts as parallel arrays), read the same way, for
the queries the hourly rows cannot answer (filters on other dimensions).

A query reads the stored hours up to the last refresh and computes the hours after it live
(``live_rows_sql``): new visits are counted at once; a visit that started before the last
refresh and goes on is updated at the next refresh.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from clickhouse_connect.driver.client import Client

from leadstream.stats.query import PAGE, VISIT_DIMENSIONS
from leadstream.stats.sessions_sql import COLUMN, pages_sql, visits_sql
from leadstream.storage.tables import STATS_HOURLY, STATS_VISITS

log = logging.getLogger(__name__)

_TS = "DateTime64(3, 'UTC')"
ROW_COLUMNS = STATS_HOURLY.names
FACTS = ROW_COLUMNS[ROW_COLUMNS.index("visitors") + 1 : ROW_COLUMNS.index("refreshed_at")]
LOOKAROUND = timedelta(days=1)
# A visit row's columns as readers take them (its site, hour and version aside).
VISIT_COLUMNS = tuple(c for c in STATS_VISITS.names if c not in ("site_id", "hour", "refreshed_at"))
# uniq() of a string counts its cityHash64: stored as the hash, read back as ``visitor``.
_READ_VISITS = ", ".join("visitor_hash AS visitor" if c == "visitor_hash" else c for c in VISIT_COLUMNS)
_PAGE_ARRAYS = tuple(c for c in VISIT_COLUMNS if c == "pages" or c.startswith("page_"))
SUPERSEDED_AFTER_S = 60

_VISIT_FACTS = (
    "uniqState(visitor) AS visitors, count() AS visits, count() AS entries, sum(is_bounce) AS bounces, "
    "sum(duration_ms) AS duration_ms, sum(pageviews) AS pageviews, sum(events) AS events, "
    "sum(conversions) AS conversions, sum(score_sum) AS score_sum, sum(score_n) AS score_n"
)
_PAGE_FACTS = (
    "uniqState(v.visitor) AS visitors, count() AS visits, countIf(v.entry_raw = p.page) AS entries, "
    "countIf(v.entry_raw = p.page AND v.is_bounce = 1) AS bounces, sum(v.duration_ms) AS duration_ms, "
    "sum(p.page_pageviews) AS pageviews, sum(p.page_events) AS events, sum(p.page_conversions) AS conversions, "
    "sum(p.page_score_sum) AS score_sum, sum(p.page_score_n) AS score_n"
)


def rows_sql(dimensions: tuple[str, ...], site: str, scan: str, starts: str) -> str:
    """Rollup rows (``site_id, hour, dimension, value, visitors, <FACTS>``) for ``dimensions``
    ('' for totals) over the visits of events passing ``scan`` whose start passes ``starts``."""
    visits = visits_sql(f"{site} AND {scan}", f"HAVING {starts}")
    parts = []
    visit_dims = [d for d in dimensions if d != PAGE]
    if visit_dims:
        pairs = ", ".join(f"('{d}', {COLUMN[d]})" if d else "('', '')" for d in visit_dims)
        parts.append(
            f"SELECT site_id, toStartOfHour(start) AS hour, kv.1 AS dimension, kv.2 AS value, {_VISIT_FACTS} "
            f"FROM visits ARRAY JOIN [{pairs}] AS kv GROUP BY site_id, hour, dimension, value"
        )
    if PAGE in dimensions:
        pages = pages_sql(f"{site} AND {scan} AND (site_id, session_id) IN (SELECT site_id, session_id FROM visits)")
        parts.append(
            f"SELECT v.site_id AS site_id, toStartOfHour(v.start) AS hour, '{PAGE}' AS dimension, p.page AS value, "
            f"{_PAGE_FACTS} FROM ({pages}) AS p INNER JOIN visits AS v ON v.site_id = p.site_id "
            "AND v.session_id = p.session_id GROUP BY site_id, hour, dimension, value"
        )
    return f"WITH visits AS ({visits}) " + " UNION ALL ".join(parts)


ALL_DIMENSIONS = ("", *VISIT_DIMENSIONS, PAGE)


def visit_rows_sql(site: str, scan: str, starts: str) -> str:
    """``stats_visits`` rows (all but ``refreshed_at``) for the visits of events passing ``scan``
    whose start passes ``starts``: the visit's facts and properties, and its pages' facts as
    parallel arrays (one tuple array first, so the arrays keep the same order)."""
    visits = visits_sql(f"{site} AND {scan}", f"HAVING {starts}")
    pages = pages_sql(f"{site} AND {scan} AND (site_id, session_id) IN (SELECT site_id, session_id FROM visits)")
    facts = ", ".join(c.removesuffix("s") if c == "pages" else c for c in _PAGE_ARRAYS)
    unpacked = ", ".join(f"arrayMap(t -> t.{i + 1}, page_rows) AS {c}" for i, c in enumerate(_PAGE_ARRAYS))
    per_visit = (
        f"SELECT site_id, session_id, {unpacked} FROM (SELECT site_id, session_id, "
        f"groupArray(({facts})) AS page_rows FROM ({pages}) GROUP BY site_id, session_id)"
    )
    columns = ", ".join(
        f"pg.{c} AS {c}"
        if c in _PAGE_ARRAYS
        else "cityHash64(v.visitor) AS visitor_hash"
        if c == "visitor_hash"
        else f"v.{c} AS {c}"
        for c in VISIT_COLUMNS
    )
    return (
        f"WITH visits AS ({visits}) SELECT v.site_id AS site_id, toStartOfHour(v.start) AS hour, {columns} "
        f"FROM visits AS v LEFT JOIN ({per_visit}) AS pg ON pg.site_id = v.site_id AND pg.session_id = v.session_id"
    )


def live_visits_sql() -> str:
    """Visit rows for the visits that started from ``{split}`` to ``{to}`` (a query's tail)."""
    in_tail = f"site_id = {{site:String}} AND received_at >= {{split:{_TS}}} AND received_at < {{to:{_TS}}}"
    scan = (
        f"received_at >= {{scan_from:{_TS}}} AND received_at < {{scan_to:{_TS}}} "
        f"AND session_id IN (SELECT session_id FROM events_v WHERE {in_tail})"
    )
    starts = f"start >= {{split:{_TS}}} AND start < {{to:{_TS}}}"
    return f"SELECT {_READ_VISITS} FROM ({visit_rows_sql('site_id = {site:String}', scan, starts)})"


def stored_visits_sql(whole_hours: bool) -> str:
    """Stored visit rows that started from ``{from}`` to ``{split}``, each hour at its newest
    version (``whole_hours``: both on whole UTC hours, so the hours alone select the visits)."""
    starts = "" if whole_hours else f"AND start >= {{from:{_TS}}} AND start < {{split:{_TS}}} "
    hours = (
        "SELECT hour, max(refreshed_at) FROM stats_hourly_hours WHERE site_id = {site:String} "
        f"AND hour >= toStartOfHour({{from:{_TS}}}) AND hour < {{split:{_TS}}} GROUP BY hour"
    )
    return (
        f"SELECT {_READ_VISITS} FROM stats_visits WHERE site_id = {{site:String}} "
        f"AND hour >= toStartOfHour({{from:{_TS}}}) AND hour < {{split:{_TS}}} "
        f"{starts}AND (hour, refreshed_at) IN ({hours})"
    )


def live_rows_sql(dimension: str) -> str:
    """One dimension's rows for the visits that started from ``{split}`` to ``{to}`` (a query's tail)."""
    in_tail = f"site_id = {{site:String}} AND received_at >= {{split:{_TS}}} AND received_at < {{to:{_TS}}}"
    scan = (
        f"received_at >= {{scan_from:{_TS}}} AND received_at < {{scan_to:{_TS}}} "
        f"AND session_id IN (SELECT session_id FROM events_v WHERE {in_tail})"
    )
    starts = f"start >= {{split:{_TS}}} AND start < {{to:{_TS}}}"
    inner = rows_sql((dimension,), "site_id = {site:String}", scan, starts)
    return f"SELECT hour, value, visitors, {', '.join(FACTS)} FROM ({inner})"


def stored_rows_sql() -> str:
    """One dimension's stored rows from ``{from}`` to ``{split}``, each hour at its newest version."""
    hours = (
        "SELECT hour, max(refreshed_at) FROM stats_hourly_hours WHERE site_id = {site:String} "
        "AND hour >= {from:DateTime64(3, 'UTC')} AND hour < {split:DateTime64(3, 'UTC')} GROUP BY hour"
    )
    return (
        f"SELECT hour, value, visitors, {', '.join(FACTS)} FROM stats_hourly WHERE site_id = {{site:String}} "
        "AND dimension = {dim:String} AND hour >= {from:DateTime64(3, 'UTC')} AND hour < {split:DateTime64(3, 'UTC')} "
        f"AND (hour, refreshed_at) IN ({hours})"
    )


def tail_from(last_refresh: datetime | None, margin_s: float) -> datetime | None:
    """The first hour a query computes live: the hour of the last completed refresh, less the margin."""
    if last_refresh is None:
        return None
    at = last_refresh - timedelta(seconds=margin_s)
    return at.replace(minute=0, second=0, microsecond=0)


WATERMARK_SQL = "SELECT now64(3, 'UTC'), maxOrNull(refreshed_at) FROM stats_hourly_refreshes"
LOG_SQL = (
    "INSERT INTO stats_hourly_refreshes (refreshed_at, changes_since, site_hours) "
    f"SELECT {{at:{_TS}}}, {{since:Nullable({_TS})}}, {{n:UInt64}}"
)


@dataclass(frozen=True)
class RollupRefresh:
    refreshed_at: datetime
    changes_since: datetime | None
    site_hours: int

    def as_dict(self) -> dict[str, object]:
        since = self.changes_since.isoformat() if self.changes_since else None
        return {"refreshed_at": self.refreshed_at.isoformat(), "changes_since": since, "site_hours": self.site_hours}


def changed_hours(client: Client, since: datetime | None) -> dict[str, list[datetime]]:
    """Per site, the hours whose visits gained events inserted since ``since`` (None: every hour
    with events, and every hour recorded before)."""
    if since is None:
        sql = (
            "SELECT site_id, groupUniqArray(hour) FROM ("
            "SELECT site_id, toStartOfHour(min(received_at)) AS hour FROM events_v GROUP BY site_id, session_id "
            "UNION ALL SELECT site_id, hour FROM stats_hourly_hours) GROUP BY site_id"
        )
        rows = client.query(sql).result_rows
    else:
        params = {"since": since}
        low = client.query(
            f"SELECT minOrNull(received_at) FROM events WHERE inserted_at >= {{since:{_TS}}}", parameters=params
        ).result_rows[0][0]
        if low is None:
            return {}
        sql = (
            "SELECT site_id, groupUniqArray(hour) FROM (SELECT site_id, toStartOfHour(min(received_at)) AS hour "
            f"FROM events WHERE received_at >= {{low:{_TS}}} - INTERVAL 1 DAY AND (site_id, session_id) IN "
            f"(SELECT DISTINCT site_id, session_id FROM events WHERE inserted_at >= {{since:{_TS}}}) "
            "GROUP BY site_id, session_id) GROUP BY site_id"
        )
        rows = client.query(sql, parameters=params | {"low": low}).result_rows
    return {site: sorted(hours) for site, hours in rows}


def refresh_site(client: Client, site: str, hours: list[datetime], at: datetime) -> None:
    """Rewrite ``hours`` of ``site`` at version ``at``, then record that version."""
    params = {"site": site, "hours": hours, "at": at}
    params |= {"scan_from": hours[0] - LOOKAROUND, "scan_to": hours[-1] + timedelta(hours=1) + LOOKAROUND}
    scan = f"received_at >= {{scan_from:{_TS}}} AND received_at < {{scan_to:{_TS}}}"
    starts = "toStartOfHour(start) IN {hours:Array(DateTime('UTC'))}"
    rows = rows_sql(ALL_DIMENSIONS, "site_id = {site:String}", scan, starts)
    columns = ", ".join(ROW_COLUMNS)
    client.command(
        f"INSERT INTO stats_hourly ({columns}) SELECT *, {{at:{_TS}}} FROM ({rows})",
        parameters=params,
        settings={"max_insert_block_size": 10_000_000, "min_insert_block_size_rows": 0},
    )
    client.command(
        f"INSERT INTO stats_visits ({', '.join(STATS_VISITS.names)}) SELECT *, {{at:{_TS}}} "
        f"FROM ({visit_rows_sql('site_id = {site:String}', scan, starts)})",
        parameters=params,
        settings={"max_insert_block_size": 10_000_000, "min_insert_block_size_rows": 0},
    )
    client.command(
        f"INSERT INTO stats_hourly_hours (site_id, hour, refreshed_at) "
        f"SELECT {{site:String}}, arrayJoin({{hours:Array(DateTime('UTC'))}}), {{at:{_TS}}}",
        parameters=params,
    )


def drop_superseded(client: Client) -> None:
    """Delete rows of versions no longer in force (a minute old, so no reader is still on them)."""
    for table in ("stats_hourly", "stats_visits"):
        client.command(
            f"DELETE FROM {table} WHERE refreshed_at < now64(3, 'UTC') - INTERVAL "
            f"{SUPERSEDED_AFTER_S} SECOND AND (site_id, hour, refreshed_at) NOT IN "
            "(SELECT site_id, hour, max(refreshed_at) FROM stats_hourly_hours GROUP BY site_id, hour)"
        )


def refresh_rollup(client: Client, margin_s: float, clean: bool = True) -> RollupRefresh:
    """One refresh (blocking; on a warehouse thread)."""
    started, last = client.query(WATERMARK_SQL).result_rows[0]
    since = None if last is None else last - timedelta(seconds=margin_s)
    changed = changed_hours(client, since)
    for site, hours in changed.items():
        for chunk in _chunks(hours, 24 * 7):  # a week of hours a statement bounds what one reads
            refresh_site(client, site, chunk, started)
    written = sum(len(h) for h in changed.values())
    if written:
        client.command(LOG_SQL, parameters={"at": started, "since": since, "n": written})
        if clean:
            drop_superseded(client)
    return RollupRefresh(started, since, written)


def _chunks(hours: list[datetime], size: int) -> list[list[datetime]]:
    """Runs of hours no wider than ``size`` hours from first to last."""
    chunks: list[list[datetime]] = []
    for hour in hours:
        if chunks and hour - chunks[-1][0] < timedelta(hours=size):
            chunks[-1].append(hour)
        else:
            chunks.append([hour])
    return chunks
