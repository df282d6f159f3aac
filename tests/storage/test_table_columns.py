"""What each writer inserts matches the tables its migrations build: every column it names
exists, and every column it leaves out fills itself (a default or a materialised value)."""

import pytest

from leadstream.settings import Settings
from leadstream.storage.daily_stats import WRITTEN_COLUMNS
from leadstream.storage.warehouse import Warehouse
from leadstream.streams.copies import copy_specs
from leadstream.streams.matcher import CALL_COLUMNS
from leadstream.streams.sessions import SESSION_COLUMNS


def writers(settings: Settings) -> list[tuple[str, tuple[str, ...]]]:
    copies = [(spec.table, tuple(spec.columns)) for spec in copy_specs(settings)]
    return [*copies, ("sessions", SESSION_COLUMNS), ("calls", CALL_COLUMNS), ("daily_site_stats", WRITTEN_COLUMNS)]


@pytest.fixture
def table_columns(warehouse: Warehouse) -> dict[str, dict[str, str]]:
    sql = "SELECT table, name, default_kind FROM system.columns WHERE database = currentDatabase()"
    found: dict[str, dict[str, str]] = {}
    for table, name, default_kind in warehouse.sync(lambda c: c.query(sql).result_rows):
        found.setdefault(table, {})[name] = default_kind
    return found


def test_every_writer_matches_its_table(settings: Settings, table_columns: dict[str, dict[str, str]]) -> None:
    for table, written in writers(settings):
        columns = table_columns[table]
        assert len(set(written)) == len(written), f"{table}: a column written twice"
        assert not set(written) - set(columns), f"{table}: written but not in the migrations"
        left = {name for name in set(columns) - set(written) if not columns[name]}
        assert not left, f"{table}: columns neither written nor defaulted: {sorted(left)}"
