"""Migrations and insert semantics on a real (embedded) ClickHouse."""

import pytest

from leadstream.storage.migrations import available, migrate
from leadstream.storage.warehouse import Warehouse
from leadstream.streams.rows import EVENT_COLUMNS
from tests.storage.conftest import event


def rows(n: int) -> list[list[object]]:
    return [event() for _ in range(n)]


def count(w: Warehouse, table: str) -> int:
    return int(w.sync(lambda c: c.query(f"SELECT count() FROM {table}").result_rows[0][0]))


def test_migrations_are_idempotent(warehouse: Warehouse) -> None:
    assert warehouse.sync(migrate) == []  # already applied by the fixture
    versions = warehouse.sync(lambda c: c.query("SELECT version FROM schema_migrations ORDER BY version").result_rows)
    assert [v for (v,) in versions] == [m.version for m in available()]


async def test_retried_insert_with_same_token_lands_once(warehouse: Warehouse) -> None:
    batch = rows(50)
    await warehouse.insert("events", EVENT_COLUMNS, batch, token="t:0:0-49")
    await warehouse.insert("events", EVENT_COLUMNS, batch, token="t:0:0-49")
    assert count(warehouse, "events") == 50


async def test_redelivered_rows_in_a_different_batch_count_once_for_analysts(warehouse: Warehouse) -> None:
    batch = rows(30)
    await warehouse.insert("events", EVENT_COLUMNS, batch[:20], token="t:0:0-19")
    # after a crash the same offsets come back grouped differently: a new token, so a new block
    await warehouse.insert("events", EVENT_COLUMNS, batch[10:], token="t:0:10-29")
    assert count(warehouse, "events") == 40  # physically duplicated...
    assert count(warehouse, "events_v") == 30  # ...but analysts see each event once


async def test_query_is_readonly(warehouse: Warehouse) -> None:
    with pytest.raises(Exception, match=r"(?i)readonly"):
        await warehouse.read("DROP TABLE events")
    await warehouse.insert("events", EVENT_COLUMNS, rows(1), token="after-read")  # the writer is unaffected
    assert (await warehouse.read("SELECT count() FROM events")).rows == [[1]]
