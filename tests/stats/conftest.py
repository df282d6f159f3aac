"""An engine over a real chDB holding the known data set, five ways: the exact views only, the
rollup (visit rows; or hourly rows where they answer) before any refresh (all of it computed
live), and after a refresh (stored).
The data set is loaded once per module (queries only read it); tests that write get their own."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from leadstream.stats.engine import StatsEngine, StatsReader
from leadstream.stats.rollup import refresh_rollup
from leadstream.storage.migrations import migrate
from leadstream.storage.warehouse import Warehouse
from tests.stats import dataset


def open_warehouse(chdb_dir: Path) -> Warehouse:
    w = Warehouse(f"chdb://{chdb_dir}", f"stats_{uuid.uuid4().hex[:10]}")
    w.open()
    w.sync(migrate)
    return w


def drop(w: Warehouse) -> None:
    w.sync(lambda c: c.command(f"DROP DATABASE IF EXISTS {w.database}"))
    w.close()


async def load(warehouse: Warehouse, rows: list[list[object]] | None = None) -> None:
    await warehouse.insert("events", dataset.COLUMNS, rows or dataset.rows(), token=str(uuid.uuid4()))


CALL_COLUMNS = ("call_id", "site_id", "received_at", "status", "version", "url", "fingerprint")


async def load_calls(warehouse: Warehouse, *calls: tuple[str, datetime, str]) -> None:
    rows = [
        [uuid.uuid4(), site, at, status, 2 if status == "matched" else 1, "https://x/", "fp"]
        for site, at, status in calls
    ]
    await warehouse.insert("calls", CALL_COLUMNS, rows, token=str(uuid.uuid4()))


@pytest.fixture(scope="module")
def loaded(chdb_dir: Path) -> Iterator[tuple[Warehouse, Warehouse]]:
    """Two warehouses with the data set: one never refreshed, one refreshed (nothing left live)."""
    live, stored = open_warehouse(chdb_dir), open_warehouse(chdb_dir)
    for w in (live, stored):
        asyncio.run(load(w))
    stored.sync(lambda c: refresh_rollup(c, margin_s=0))
    yield live, stored
    drop(live)
    drop(stored)


@pytest.fixture(params=["exact", "rollup-live", "rollup-stored", "hourly-live", "hourly-stored"])
def engine(request: pytest.FixtureRequest, loaded: tuple[Warehouse, Warehouse]) -> Iterator[StatsEngine]:
    """rollup: the visit rows (and the hourly rows too, ``hourly``), live before any refresh or stored after one."""
    w = loaded[1] if request.param.endswith("-stored") else loaded[0]
    reader = StatsReader(w.dsn, w.database)
    yield StatsEngine(reader, margin_s=0, rollup=request.param != "exact", hourly=request.param.startswith("hourly"))
    reader.close()


@pytest.fixture
def own(chdb_dir: Path) -> Iterator[tuple[Warehouse, StatsReader]]:
    """A warehouse of the test's own (empty, migrated) and a reader on it."""
    w = open_warehouse(chdb_dir)
    reader = StatsReader(w.dsn, w.database)
    yield w, reader
    reader.close()
    drop(w)
