"""Retention TTLs on a real (embedded) ClickHouse: set by migration, changed and removed in place."""

from leadstream.settings import Settings
from leadstream.storage.retention import apply_retention, ttl_clause
from leadstream.storage.warehouse import Warehouse
from leadstream.streams.rows import EVENT_COLUMNS
from tests.storage.conftest import event


def create(w: Warehouse, table: str) -> str:
    return str(w.sync(lambda c: c.query(f"SHOW CREATE TABLE {table}").result_rows[0][0]))


def test_the_migration_sets_the_default_ttls(warehouse: Warehouse, settings: Settings) -> None:
    assert warehouse.sync(lambda c: apply_retention(c, settings)) == []  # defaults are what 0009 wrote
    assert "TTL toDateTime(received_at) + toIntervalDay(395)" in create(warehouse, "events")
    assert "TTL toDateTime(failed_at) + toIntervalDay(30)" in create(warehouse, "dead_letters")


async def test_changed_settings_modify_the_ttl_in_place(warehouse: Warehouse, settings: Settings) -> None:
    await warehouse.insert("events", EVENT_COLUMNS, [event()], token="retention")
    shorter = settings.model_copy(update={"retention_days_events": 90, "retention_days_calls": 0})
    assert warehouse.sync(lambda c: apply_retention(c, shorter)) == ["events", "calls"]
    assert ttl_clause("events", 90) in create(warehouse, "events")
    assert " TTL " not in create(warehouse, "calls")  # 0: kept without limit
    # the table was altered, not rebuilt: its row is still there
    assert warehouse.sync(lambda c: c.query("SELECT count() FROM events").result_rows[0][0]) == 1
    assert warehouse.sync(lambda c: apply_retention(c, shorter)) == []  # idempotent
