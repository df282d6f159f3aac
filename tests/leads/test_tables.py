"""The tables declared in ``storage/tables.py`` are the tables the migrations build: the same
columns, in the same order, with the same types (defaults such as ``inserted_at`` aside)."""

from leadstream.storage.tables import TABLES
from leadstream.storage.warehouse import Warehouse


def test_declared_tables_match_the_migrations(warehouse: Warehouse) -> None:
    sql = (
        "SELECT table, name, type, default_kind FROM system.columns WHERE database = currentDatabase() "
        "ORDER BY table, position"
    )
    built: dict[str, list[tuple[str, str]]] = {}
    for table, name, kind, default_kind in warehouse.sync(lambda c: c.query(sql).result_rows):
        if not default_kind:
            built.setdefault(table, []).append((name, kind))
    for table in TABLES:
        assert built[table.name] == list(table.columns), table.name
