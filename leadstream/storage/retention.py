"""Retention as ClickHouse TTLs, from ``LEADSTREAM_RETENTION_DAYS_*``: changed in place
(``MODIFY TTL``), never by rebuilding a table; rows past it go as parts merge."""

from __future__ import annotations

import logging

from clickhouse_connect.driver.client import Client

from leadstream.settings import Settings

log = logging.getLogger(__name__)

# table -> the time column its TTL counts from
TTL_COLUMNS = {
    "events": "received_at",
    "sessions": "last_seen",
    "calls": "received_at",
    "dead_letters": "failed_at",
    "stats_visits": "start",  # the Stats API's per-visit rows: kept as long as the sessions
}


def wanted_ttls(settings: Settings) -> dict[str, int]:
    return {
        "events": settings.retention_days_events,
        "sessions": settings.retention_days_sessions,
        "calls": settings.retention_days_calls,
        "dead_letters": settings.retention_days_dead_letters,
        "stats_visits": settings.retention_days_sessions,
    }


def ttl_clause(table: str, days: int) -> str:
    return f"TTL toDateTime({TTL_COLUMNS[table]}) + toIntervalDay({days})"


def apply_retention(client: Client, settings: Settings) -> list[str]:
    """Set each table's TTL to the settings where it differs; returns the tables changed."""
    sql = "SELECT name, engine_full FROM system.tables WHERE database = currentDatabase() AND name IN {n:Array(String)}"
    engines = dict(client.query(sql, parameters={"n": list(TTL_COLUMNS)}).result_rows)
    changed = []
    for table, days in wanted_ttls(settings).items():
        engine = engines.get(table, "")
        if days == 0:
            if " TTL " in engine:
                client.command(f"ALTER TABLE {table} REMOVE TTL")
                changed.append(table)
        elif ttl_clause(table, days) not in engine:
            client.command(
                f"ALTER TABLE {table} MODIFY {ttl_clause(table, days)} SETTINGS materialize_ttl_after_modify = 0"
            )
            changed.append(table)
    for table in changed:
        log.info("retention of %s set to %s days (0: no limit)", table, wanted_ttls(settings)[table])
    return changed
