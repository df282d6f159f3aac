"""Analysts' limits as ClickHouse settings, their errors, and who may use the worker's write endpoints."""

from __future__ import annotations

from leadstream.observability.lag import PartitionLag, worker_groups
from leadstream.settings import Settings
from leadstream.storage.warehouse import QueryLimits
from leadstream.streams.web import write_refusal


def test_readonly_comes_last_so_the_limits_can_be_set_and_not_lifted() -> None:
    settings = QueryLimits(5, 1 << 30, 10, 2).client_settings()
    assert list(settings)[-1] == "readonly"
    assert settings["max_execution_time"] == 5 and settings["max_result_rows"] == 10 and settings["max_threads"] == 2
    assert "max_threads" not in QueryLimits(max_threads=0).client_settings()


def test_limit_errors_name_the_limit_and_its_setting() -> None:
    limits = QueryLimits(30, 1 << 30, 100, 1)
    timeout = limits.explain("Code: 159. DB::Exception: Timeout exceeded: elapsed 30000 ms. (TIMEOUT_EXCEEDED)")
    assert "time limit of 30s" in timeout and "LEADSTREAM_QUERY_MAX_EXECUTION_TIME_S" in timeout
    assert "LEADSTREAM_QUERY_MAX_MEMORY_BYTES" in limits.explain("(MEMORY_LIMIT_EXCEEDED)")
    assert "more than 100 rows" in limits.explain("(TOO_MANY_ROWS_OR_BYTES)")
    assert limits.explain("Unknown table x") == "Unknown table x"


def test_write_endpoints_on_loopback_need_no_token() -> None:
    assert write_refusal(Settings(worker_host="127.0.0.1"), None) is None


def test_write_endpoints_beyond_loopback_need_the_token() -> None:
    open_without = Settings(worker_host="0.0.0.0")
    assert "LEADSTREAM_WORKER_TOKEN" in (write_refusal(open_without, None) or "")
    guarded = Settings(worker_host="0.0.0.0", worker_token="s3cret")
    assert write_refusal(guarded, "Bearer s3cret") is None
    assert write_refusal(guarded, "Bearer nope") is not None
    assert write_refusal(guarded, None) is not None
    assert guarded.worker_headers == {"Authorization": "Bearer s3cret"}
    assert guarded.worker_url.startswith("http://127.0.0.1:")  # the CLI reaches a 0.0.0.0 worker on loopback


def test_a_token_set_is_required_on_loopback_too() -> None:
    assert write_refusal(Settings(worker_host="127.0.0.1", worker_token="s3cret"), None) is not None


def test_the_worker_groups_are_its_own() -> None:
    groups = ["w", "w-events", "w-sessions", "wx-events", "other", "w2"]
    assert worker_groups(groups, "w") == ["w", "w-events", "w-sessions"]
    assert PartitionLag("w", "t", 0, committed=5, end=9).lag == 4
    assert PartitionLag("w", "t", 0, committed=9, end=5).lag == 0
