"""JSON log lines and their context."""

from __future__ import annotations

import asyncio
import logging

import orjson

from leadstream.observability.logs import GROUP, RUN_ID, JsonFormatter, new_request_id


def line(msg: str = "hello %s", *args: object, **extra: object) -> dict[str, object]:
    record = logging.LogRecord("leadstream.test", logging.WARNING, __file__, 1, msg, args or ("world",), None)
    for k, v in extra.items():
        setattr(record, k, v)
    return orjson.loads(JsonFormatter().format(record))


def test_one_json_object_with_the_context_of_the_task() -> None:
    async def request() -> dict[str, object]:
        rid = new_request_id()
        entry = line()
        assert entry["request_id"] == rid
        return entry

    async def stage() -> dict[str, object]:
        RUN_ID.set("run-1")
        GROUP.set("leadstream-worker")
        return line(partition=3)

    async def both() -> tuple[dict[str, object], dict[str, object]]:
        return await asyncio.gather(request(), stage())

    edge, worker = asyncio.run(both())
    assert edge["msg"] == "hello world" and edge["level"] == "WARNING" and edge["logger"] == "leadstream.test"
    assert "run_id" not in edge  # each task its own context
    assert worker["run_id"] == "run-1" and worker["group"] == "leadstream-worker" and worker["partition"] == 3
    assert "request_id" not in worker


def test_request_ids_are_unique() -> None:
    assert len({new_request_id() for _ in range(1000)}) == 1000


def test_exceptions_stay_on_the_line() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    text = JsonFormatter().format(record)
    assert "\n" not in text and "ValueError: boom" in orjson.loads(text)["exc"]
