"""Migrations and insert semantics on a real (embedded) ClickHouse."""

import subprocess
import sys
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

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


STORED = ", ".join(c for c in EVENT_COLUMNS if c != "event_id")


async def test_a_json_block_stores_what_a_native_block_does(warehouse: Warehouse) -> None:
    fields = {
        "received_at": datetime(2026, 12, 3, 12, 0, 0, 123000, tzinfo=UTC),
        "session_id": uuid.uuid4(),
        "url": 'https://shop.example/ü?q="1"\n\t\\',
        "label": "hero ✓",
        "value": 49.5,
        "duration_sec": 12,
        "meta": {"plan": "pro", "ü": "\\u0000"},
        "consent_scopes": ["analytics", "ads"],
        "user_agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)",
        "ip": "203.0.113.7",
    }
    native, as_json = event(**fields), event(**fields)
    await warehouse.insert("events", EVENT_COLUMNS, [native], token="native")
    await warehouse.insert("events", EVENT_COLUMNS, [as_json], token="json", as_json=True)
    stored = await warehouse.read(f"SELECT event_id, {STORED} FROM events")
    by_id = {str(row[0]): row[1:] for row in stored.rows}
    assert by_id[as_json[0]] == by_id[native[0]]
    assert by_id[native[0]][0] == fields["received_at"].replace(tzinfo=None)  # milliseconds kept


async def test_a_block_json_cannot_carry_goes_native(warehouse: Warehouse) -> None:
    row = event()
    row[EVENT_COLUMNS.index("value")] = Decimal("49.5")  # orjson writes no Decimal
    await warehouse.insert("events", EVENT_COLUMNS, [row], token="decimal", as_json=True)
    assert (await warehouse.read("SELECT value FROM events")).rows == [[49.5]]


def test_a_process_that_opens_the_warehouse_does_not_load_pyarrow(tmp_path: Path) -> None:
    """chDB would import it (30-46 MB resident); the warehouse refuses the import and chDB works on."""
    script = (
        "import sys; from leadstream.storage.warehouse import Warehouse\n"
        f"w = Warehouse('chdb://{tmp_path}/wh', 'leadstream'); w.open()\n"
        "assert w.sync(lambda c: c.query('SELECT 1').result_rows) == [(1,)]\n"
        "assert sys.modules['pyarrow'] is None, sys.modules['pyarrow']"
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120)
