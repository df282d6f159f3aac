"""Analysts' limits as ClickHouse settings, their errors, and the tokens and names of the worker's endpoints."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from leadstream.observability.lag import PartitionLag, worker_groups
from leadstream.settings import Settings
from leadstream.storage.warehouse import QueryLimits
from leadstream.streams.web import WORKER_TOKEN, token_refusal


def test_readonly_comes_last_so_the_limits_can_be_set_and_not_lifted() -> None:
    settings = QueryLimits(5, 1 << 30, 10, 2, 4096).client_settings()
    assert list(settings)[-1] == "readonly"
    assert settings["max_result_bytes"] == 4096 and settings["result_overflow_mode"] == "throw"
    assert settings["max_execution_time"] == 5 and settings["max_result_rows"] == 10 and settings["max_threads"] == 2
    assert "max_threads" not in QueryLimits(max_threads=0).client_settings()


def test_limit_errors_name_the_limit_and_its_setting() -> None:
    limits = QueryLimits(30, 1 << 30, 100, 1)
    timeout = limits.explain("Code: 159. DB::Exception: Timeout exceeded: elapsed 30000 ms. (TIMEOUT_EXCEEDED)")
    assert "time limit of 30s" in timeout and "LEADSTREAM_QUERY_MAX_EXECUTION_TIME_S" in timeout
    assert "LEADSTREAM_QUERY_MAX_MEMORY_BYTES" in limits.explain("(MEMORY_LIMIT_EXCEEDED)")
    assert "more than 100 rows" in limits.explain("(TOO_MANY_ROWS_OR_BYTES)")
    assert limits.explain("Unknown table x") == "Unknown table x"


def test_write_endpoints_need_the_worker_token_on_loopback_too() -> None:
    loopback = Settings(worker_host="127.0.0.1", worker_token=None)
    refusal = token_refusal("", [loopback.worker_token], WORKER_TOKEN)
    assert refusal is not None and refusal.status_code == 403 and b"LEADSTREAM_WORKER_TOKEN" in refusal.body
    guarded = Settings(worker_host="0.0.0.0", worker_token="s3cret")
    assert token_refusal("s3cret", [guarded.worker_token], WORKER_TOKEN) is None
    for given in ("nope", "", "s3cret "):
        refusal = token_refusal(given, [guarded.worker_token], WORKER_TOKEN)
        assert refusal is not None and refusal.status_code == 401, given
    assert guarded.worker_headers == {"Authorization": "Bearer s3cret"}
    assert guarded.worker_url.startswith("http://127.0.0.1:")  # the CLI reaches a 0.0.0.0 worker on loopback
    assert "s3cret" not in repr(guarded)


def test_the_caller_sends_its_own_analyst_token_else_the_first_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEADSTREAM_ANALYST_TOKENS", '{"ana": "a-token", "bo": "b-token"}')
    monkeypatch.delenv("LEADSTREAM_ANALYST_TOKEN", raising=False)
    many = Settings(analyst_token=None)
    assert many.analyst_headers == {"Authorization": "Bearer a-token"}
    own = many.model_copy(update={"analyst_token": SecretStr("bo-token")})
    assert own.analyst_headers == {"Authorization": "Bearer bo-token"}
    assert many.model_copy(update={"analyst_tokens": {}}).analyst_headers == {}


def test_the_worker_answers_to_its_own_names() -> None:
    names = Settings(worker_host="127.0.0.1", worker_port=6066, worker_allowed_hosts=[]).worker_host_names
    assert {"127.0.0.1", "127.0.0.1:6066", "localhost:6066", "[::1]", "[::1]:6066"} <= names
    assert "evil.example" not in names and "evil.example:6066" not in names
    custom = Settings(worker_port=7000, worker_allowed_hosts="Worker.Internal, ::1").worker_host_names
    assert custom == {"worker.internal", "worker.internal:7000", "[::1]", "[::1]:7000"}


def test_the_worker_groups_are_its_own() -> None:
    groups = ["w", "w-events", "w-sessions", "wx-events", "other", "w2"]
    assert worker_groups(groups, "w") == ["w", "w-events", "w-sessions"]
    assert PartitionLag("w", "t", 0, committed=5, end=9).lag == 4
    assert PartitionLag("w", "t", 0, committed=9, end=5).lag == 0


def test_tokens_in_the_environment_replace_the_env_files(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    secrets_env = tmp_path / "secrets.env"
    secrets_env.write_text('LEADSTREAM_ANALYST_TOKENS=\'{"dev": "from-the-file"}\'\n')
    assert list(Settings(_env_file=secrets_env).analyst_tokens) == ["dev"]  # type: ignore[call-arg]
    monkeypatch.setenv("LEADSTREAM_ANALYST_TOKENS", '{"ana": "from-the-environment"}')
    assert list(Settings(_env_file=secrets_env).analyst_tokens) == ["ana"]  # type: ignore[call-arg]
    monkeypatch.setenv("LEADSTREAM_ANALYST_TOKENS", "{}")
    assert Settings(_env_file=secrets_env).analyst_tokens == {}  # type: ignore[call-arg]
