"""The analysts' SQL sandbox: the pure verdicts on the engine's AST text, then the real attacks on chDB."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from leadstream.commands.dead_letters import LIST_COLUMNS
from leadstream.observability.status import DEAD_LETTERS_SQL, NEWEST_DEAD_SQL
from leadstream.privacy.erasure import ERASED_TABLES, count_sql
from leadstream.storage.analyst_sql import (
    AGGREGATES,
    SCALARS,
    AnalystSqlRefused,
    ast_refusal,
    engine_message,
    function_allowed,
    statement_refusal,
    tree_refusal,
)
from leadstream.storage.migrations import migrate
from leadstream.storage.warehouse import AnalystQueryFailed, QueryLimitExceeded, QueryLimits, Warehouse
from leadstream.streams.rows import EVENT_COLUMNS
from tests.conftest import isolated_settings
from tests.storage.conftest import event

DB = "leadstream"

# --- pure: EXPLAIN AST text -> verdict ------------------------------------------------------------

SELECT_FROM_EVENTS_V = """\
SelectWithUnionQuery (children 2)
 ExpressionList (children 1)
  SelectQuery (children 3)
   ExpressionList (children 2)
    Function toDate (alias day) (children 1)
     ExpressionList (children 1)
      Identifier received_at
    Function countIf (alias n) (children 1)
     ExpressionList (children 1)
      Function equals (children 1)
       ExpressionList (children 2)
        Identifier category
        Literal 'conversion'
   TablesInSelectQuery (children 1)
    TablesInSelectQueryElement (children 1)
     TableExpression (children 1)
      TableIdentifier events_v (alias e)
   ExpressionList (children 1)
    Identifier day
 Identifier Native"""


def one_function(name: str, in_table: bool = False) -> str:
    """``SELECT name('/etc/passwd')``, or ``SELECT * FROM name('/etc/passwd')``."""
    if in_table:
        return f"""\
SelectWithUnionQuery (children 2)
 ExpressionList (children 1)
  SelectQuery (children 2)
   ExpressionList (children 1)
    Asterisk
   TablesInSelectQuery (children 1)
    TablesInSelectQueryElement (children 1)
     TableExpression (children 1)
      Function {name} (children 1)
       ExpressionList (children 1)
        Literal '/etc/passwd'
 Identifier Native"""
    return f"""\
SelectWithUnionQuery (children 2)
 ExpressionList (children 1)
  SelectQuery (children 1)
   ExpressionList (children 1)
    Function {name} (children 1)
     ExpressionList (children 1)
      Literal '/etc/passwd'
 Identifier Native"""


def test_a_plain_analyst_select_passes() -> None:
    assert ast_refusal(SELECT_FROM_EVENTS_V, DB) is None


@pytest.mark.parametrize("name", ["file", "FILE", "url", "s3", "remote", "executable", "dictGet", "getSetting"])
def test_forbidden_functions_are_refused(name: str) -> None:
    refusal = ast_refusal(one_function(name), DB)
    assert refusal is not None and str(refusal).startswith(f"refused: the function {name}()")


@pytest.mark.parametrize("name", ["file", "url", "numbers", "remote", "mysql", "cluster"])
def test_table_functions_are_refused(name: str) -> None:
    assert f"table function {name}()" in str(ast_refusal(one_function(name, in_table=True), DB))


def test_format_outfile_and_settings_clauses_are_refused() -> None:
    def root_with(*extra: str) -> str:
        body = SELECT_FROM_EVENTS_V.removesuffix(" Identifier Native")
        return body.replace("(children 2)", f"(children {1 + len(extra)})", 1) + "\n".join(extra)

    assert "FORMAT clause (TSV)" in str(ast_refusal(root_with(" Identifier TSV"), DB))
    assert "INTO OUTFILE" in str(ast_refusal(root_with(" Literal '/tmp/x'", " Identifier Native"), DB))
    assert "SETTINGS" in str(ast_refusal(root_with(" Set", " Identifier Native"), DB))


def test_other_statements_are_refused() -> None:
    kill = "KillQueryQuery Literal_UInt64_1 ASYNC (children 2)\n Literal UInt64_1\n Identifier Native"
    assert "KillQueryQuery statement" in str(ast_refusal(kill, DB))
    for canonical, word in [
        ("KILL QUERY WHERE 1 ASYNC", "KILL"),
        ("SYSTEM STOP MERGES", "SYSTEM"),
        ("DROP TABLE events", "DROP"),
        ("INSERT INTO events VALUES", "INSERT"),
        ("SET readonly = 0", "SET"),
        ("EXPLAIN SELECT 1", "EXPLAIN"),
    ]:
        assert str(statement_refusal(canonical)).startswith(f"refused: {word} statement"), canonical
    assert statement_refusal("WITH t AS (SELECT 1) SELECT * FROM t") is None
    assert statement_refusal("(SELECT 1) UNION ALL (SELECT 2)") is None


def test_named_tables_outside_the_analyst_tables_are_refused() -> None:
    for name in ("system.users", "system.numbers", "other_db.events_v", "INFORMATION_SCHEMA.TABLES"):
        text = SELECT_FROM_EVENTS_V.replace("TableIdentifier events_v", f"TableIdentifier {name}")
        assert f"reading {name}" in str(ast_refusal(text, DB)), name
    assert ast_refusal(SELECT_FROM_EVENTS_V.replace("events_v (alias", f"{DB}.events_v (alias"), DB) is None


def test_in_a_named_table_is_checked_like_a_from() -> None:
    text = """\
SelectWithUnionQuery (children 2)
 ExpressionList (children 1)
  SelectQuery (children 2)
   ExpressionList (children 1)
    Literal UInt64_1
   Function in (children 1)
    ExpressionList (children 2)
     Identifier x
     Identifier system.users
 Identifier Native"""
    assert "reading system.users" in str(ast_refusal(text, DB))


def test_lines_posing_as_nodes_are_refused() -> None:
    # a quoted alias with a line break in it prints as two lines; one may look like a node
    forged = SELECT_FROM_EVENTS_V.replace(
        "Identifier received_at", "Identifier received_at (alias x)\n       Function count (children 1)"
    )
    assert "cannot read" in str(ast_refusal(forged, DB))
    assert "cannot read" in str(ast_refusal(SELECT_FROM_EVENTS_V + "\nias)", DB))
    assert "cannot read" in str(ast_refusal(SELECT_FROM_EVENTS_V + "\nSelectWithUnionQuery", DB))


def test_the_allowlist_knows_aggregate_combinators() -> None:
    for name in ("countIf", "uniqExactIf", "sumArray", "avgOrNull", "groupArrayDistinct", "quantilesIf", "SUM"):
        assert function_allowed(name), name
    for name in ("file", "fileIf", "urlIf", "dictGetOrDefault", "sleep", "chdb", "aiGenerate", "joinGet"):
        assert not function_allowed(name), name


def test_the_query_tree_may_read_only_the_analyst_tables() -> None:
    tree = "QUERY id: 0\n  JOIN TREE\n    TABLE id: 3, alias: __table1, table_name: {}"
    assert tree_refusal(tree.format(f"{DB}.events_v"), DB) is None
    assert tree_refusal(tree.format("system.one"), DB) is None
    assert "reading leadstream.schema_migrations" in str(tree_refusal(tree.format(f"{DB}.schema_migrations"), DB))
    assert "reading system.users" in str(tree_refusal(tree.format("system.users"), DB))
    assert "table function" in str(tree_refusal("QUERY id: 0\n  TABLE_FUNCTION id: 3, table_function_name: url", DB))
    assert "does not name" in str(tree_refusal("QUERY id: 0\n  TABLE id: 3, alias: __table1", DB))


def test_engine_errors_read_without_codes() -> None:
    raw = "Code: 60. DB::Exception: Unknown table expression identifier 'x'. (UNKNOWN_TABLE) (version 26.9.2.1)\nstack"
    assert engine_message(RuntimeError(raw)) == "Unknown table expression identifier 'x'. (UNKNOWN_TABLE)"


def test_the_byte_limit_is_named_apart_from_the_row_limit() -> None:
    limits = QueryLimits(max_result_rows=10, max_result_bytes=1000)
    assert limits.client_settings()["max_result_bytes"] == 1000
    bytes_error = "Limit for result exceeded, max bytes: 1000.00 B, current bytes: 9.78 KiB. (TOO_MANY_ROWS_OR_BYTES)"
    assert "LEADSTREAM_QUERY_MAX_RESULT_BYTES" in limits.explain(bytes_error)
    rows_error = "Limit for result exceeded, max rows: 10.00, current rows: 100.00. (TOO_MANY_ROWS_OR_BYTES)"
    assert "LEADSTREAM_QUERY_MAX_RESULT_ROWS" in limits.explain(rows_error)


# --- on chDB: the engine parses, the sandbox decides ------------------------------------------------


@pytest.fixture(scope="module")
def shared(stack: None, chdb_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Warehouse]:
    """One migrated warehouse for the read-only tests of this module (a database of its own)."""
    settings = isolated_settings(tmp_path_factory.mktemp("sandbox"), chdb_dir)
    w = Warehouse(settings.clickhouse_dsn, settings.clickhouse_database)
    w.open()
    w.sync(migrate)
    yield w
    w.sync(lambda c: c.command(f"DROP DATABASE IF EXISTS {settings.clickhouse_database}"))
    w.close()


ATTACKS = [
    "SELECT file('/proc/self/environ')",
    "SELECT file('/etc/passwd')",
    "SELECT file('../../../../etc/passwd')",
    "SELECT file('secrets.env')",
    "select FiLe('/etc/passwd')",
    "SELECT `file`('/etc/passwd')",
    "SELECT \"file\"('/etc/passwd')",
    "SELECT /* harmless */ file('/etc/passwd') -- trailing",
    "SELECT length(file('/etc/passwd')) FROM events_v",
    "SELECT * FROM file('/etc/passwd', 'LineAsString')",
    "SELECT * FROM url('http://127.0.0.1:6379/', 'LineAsString')",
    "SELECT * FROM numbers(10)",
    "SELECT * FROM remote('127.0.0.1', system.users)",
    "KILL QUERY WHERE 1",
    "KILL MUTATION WHERE 1",
    "SYSTEM STOP MERGES",
    "SYSTEM STOP TTL MERGES",
    "SELECT 1; DROP TABLE events",
    "SELECT 1;DROP TABLE events;",
    "SELECT 1 SETTINGS readonly=0",
    "SELECT 1 SETTINGS max_result_rows = 0",
    "SELECT * FROM (SELECT 1 SETTINGS max_threads = 64)",
    "SELECT 1 FORMAT TSV",
    "SELECT 1 INTO OUTFILE '/tmp/leadstream-outfile-attack'",
    "SELECT * FROM system.users",
    "SELECT * FROM `system`.`users`",
    "SELECT name FROM system.tables",
    "SELECT count() FROM INFORMATION_SCHEMA.TABLES",
    "SELECT * FROM schema_migrations",
    "SELECT 1 WHERE (1, 1) IN system.users",
    "SELECT (SELECT count() FROM system.processes)",
    "WITH x AS (SELECT * FROM system.users) SELECT * FROM x",
    "SELECT dictGet('d', 'a', 1)",
    "SELECT getSetting('readonly')",
    "SELECT COLUMNS('.*') APPLY(file) FROM events_v",
    "SELECT sleepEachRow(3) FROM events_v",
    "INSERT INTO events SELECT * FROM events",
    "OPTIMIZE TABLE events FINAL",
    "ALTER TABLE events DELETE WHERE 1",
    "CREATE TABLE x (a UInt8) ENGINE = Memory",
    "SET readonly = 0",
    "USE system",
    "DESCRIBE TABLE events",
    "SHOW TABLES",
    "EXPLAIN SELECT 1",
]


@pytest.mark.integration
@pytest.mark.parametrize("sql", ATTACKS)
def test_the_attack_strings_are_refused(shared: Warehouse, sql: str) -> None:
    with pytest.raises(AnalystSqlRefused, match=r"^refused: "):
        shared.read_sync(sql)
    assert not Path("/tmp/leadstream-outfile-attack").exists()


@pytest.mark.integration
def test_the_worker_s_secrets_are_never_in_an_answer(shared: Warehouse) -> None:
    for sql in ATTACKS[:10]:
        with pytest.raises(AnalystSqlRefused) as refused:
            shared.read_sync(sql)
        assert "PATH=" not in str(refused.value) and "root:" not in str(refused.value)


def analyst_queries() -> list[str]:
    """Every query analysts are shown, and those the CLI's own commands send."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "analysts.md").read_text()
    documented = re.findall(r"```sql\n(.*?)```", doc, re.S)
    internal = [DEAD_LETTERS_SQL, NEWEST_DEAD_SQL, f"SELECT {LIST_COLUMNS} FROM dead_letters_v LIMIT 5"]
    for table in ERASED_TABLES:
        for scope in ("fingerprint", "session"):
            internal.append(count_sql(table, scope).replace("{site:String}", "'s'").replace("{subject:String}", "'x'"))
    return documented + internal


@pytest.mark.integration
def test_the_documented_and_internal_queries_pass(shared: Warehouse) -> None:
    queries = analyst_queries()
    assert len(queries) >= 12
    for sql in queries:
        shared.read_sync(sql)  # refused or failing would raise


@pytest.mark.integration
def test_with_subqueries_unions_and_ctes_are_fine(shared: Warehouse) -> None:
    sql = (
        "WITH recent AS (SELECT site_id, session_id FROM events_v WHERE received_at > now() - INTERVAL 1 DAY) "
        "SELECT site_id, count() AS n FROM recent WHERE session_id IN (SELECT session_id FROM sessions_v) "
        "GROUP BY site_id UNION ALL SELECT 'total', count() FROM calls_v"
    )
    assert shared.read_sync(sql).rows == [["total", 0]]


@pytest.mark.integration
def test_a_refused_statement_leaves_nothing_for_the_next_analyst(shared: Warehouse) -> None:
    with pytest.raises(AnalystSqlRefused, match="more than one statement"):
        shared.read_sync("SELECT 'bleed'; DROP TABLE events")
    assert shared.read_sync("SELECT 'victim'").rows == [["victim"]]
    assert shared.read_sync("SELECT count() FROM events").rows == [[0]]  # and the table is still there


@pytest.mark.integration
def test_failures_in_a_row_do_not_garble_the_next_answer(shared: Warehouse) -> None:
    failing = [
        "SELECT 'a'; SELECT 'b'",
        "SELECT nosuchcolumn FROM events_v",
        "SELECT * FROM nosuchtable",
        "SELECT toDate('not a date')",
        "SELEC 1",
        "SELECT 'c'; DROP TABLE events",
    ]
    for sql in failing:
        with pytest.raises((AnalystSqlRefused, AnalystQueryFailed)):
            shared.read_sync(sql)
    assert shared.read_sync("SELECT 'victim' AS who").rows == [["victim"]]
    assert shared.read_sync("SELECT 'victim' AS who").columns == ["who"]
    before = shared._analyst
    with pytest.raises(AnalystQueryFailed):
        shared.read_sync("SELECT toDate('not a date')")  # an error while it runs: the handle is replaced
    assert shared._analyst is not None and shared._analyst is not before


@pytest.mark.integration
def test_a_result_past_the_byte_limit_is_stopped_by_the_engine(shared: Warehouse) -> None:
    sql = "SELECT repeat(toString(n % 10), 1000000) AS blob FROM (SELECT arrayJoin(range(100)) AS n)"
    with pytest.raises(QueryLimitExceeded, match="LEADSTREAM_QUERY_MAX_RESULT_BYTES"):
        shared.read_sync(sql)


@pytest.mark.integration
def test_the_row_limit_holds_where_the_engine_folds_the_query(shared: Warehouse) -> None:
    # without FROM the engine computes the rows while planning, and its row limit never sees them
    with pytest.raises(QueryLimitExceeded, match="LEADSTREAM_QUERY_MAX_RESULT_ROWS"):
        shared.read_sync(f"SELECT arrayJoin(range({shared.limits.max_result_rows + 1}))")
    assert len(shared.read_sync(f"SELECT arrayJoin(range({shared.limits.max_result_rows}))").rows) == 100_000


@pytest.mark.integration
def test_every_allowlisted_function_exists_in_the_engine(shared: Warehouse) -> None:
    known = {
        name.lower() for (name,) in shared.sync(lambda c: c.query("SELECT name FROM system.functions").result_rows)
    }
    syntax = ("lambda", "untuple", "exists", "grouping")  # the parser's own, not in system.functions
    missing = sorted(n for n in SCALARS | AGGREGATES if n.lower() not in known and n not in syntax)
    assert missing == []


@pytest.mark.integration
async def test_the_writer_does_not_wait_for_the_analysts(warehouse: Warehouse) -> None:
    """Analysts have a handle and a thread of their own: with that thread held, inserts still land."""
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        held.set()
        release.wait(timeout=60)

    busy = warehouse._analysts.submit(hold)
    try:
        assert held.wait(timeout=30)
        await warehouse.insert("events", EVENT_COLUMNS, [event()], token="while-analysts-busy")
        assert warehouse.sync(lambda c: c.query("SELECT count() FROM events").result_rows) == [(1,)]
        assert not busy.done()  # the analysts' thread was held the whole time
    finally:
        release.set()
        busy.result(timeout=30)
