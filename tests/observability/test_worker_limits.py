"""The worker under an analyst's heavy query, and a stalled loop, on the real stack (one worker process).

* A query past a limit gets a clear error, and the events sink keeps the pace of a steady stream
  meanwhile (a rate ratio with a generous bound, not a latency).
* A sink stuck on its insert (the warehouse outage failpoint) turns ``/leadstream/health`` to 503 naming
  it, and back to 200 once the warehouse answers again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from leadstream.settings import Settings
from tests.observability.load import PacedEvents
from tests.observability.scrape import total
from tests.processes import leadstream_process

pytestmark = [pytest.mark.integration, pytest.mark.e2e]
RATE = 1000  # events/s offered
TIME_LIMIT_S = 3.0
HEAVY = "SELECT sum(number) FROM numbers(20000000000)"


@pytest.fixture(scope="module")
def worker(stack: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    from tests.conftest import delete_topics, isolated_settings

    tmp = tmp_path_factory.mktemp("limits")
    settings = isolated_settings(tmp / "var", tmp / "unused").model_copy(
        update={
            "clickhouse_dsn": f"chdb://{tmp / 'warehouse'}",
            "query_max_execution_time_s": TIME_LIMIT_S,
            "query_max_result_rows": 1000,
            "health_stall_s": 5.0,
            "fault_warehouse_outage_file": tmp / "warehouse-down",
        }
    )
    with leadstream_process("worker", settings, f"{settings.worker_url}/leadstream/health", tmp / "worker.log"):
        yield settings
    delete_topics((settings.topic_prefix, settings.worker_group))


def ask(settings: Settings, sql: str, timeout_s: float = 60) -> httpx.Response:
    return httpx.post(f"{settings.worker_url}/leadstream/query", json={"sql": sql}, timeout=timeout_s)


def stored(settings: Settings) -> float:
    return total(f"{settings.worker_url}/metrics", "leadstream_warehouse_rows_inserted_total", table="events")


def rate_over(settings: Settings, seconds: float) -> float:
    before, started = stored(settings), time.monotonic()
    time.sleep(seconds)
    return (stored(settings) - before) / (time.monotonic() - started)


def test_limits_give_clear_errors(worker: Settings) -> None:
    r = ask(worker, "SELECT number FROM numbers(5000)")
    assert r.status_code == 400 and "more than 1000 rows" in r.json()["error"], r.text
    assert "LEADSTREAM_QUERY_MAX_RESULT_ROWS" in r.json()["error"]
    r = ask(worker, "SELECT 1 SETTINGS max_result_rows = 0")  # an analyst cannot lift a limit
    assert r.status_code == 400 and "readonly" in r.json()["error"].lower(), r.text
    r = ask(worker, "SELECT count() FROM numbers(10)")
    assert r.status_code == 200 and r.json()["rows"] == [[10]]


def test_heavy_query_is_stopped_and_the_sink_keeps_its_pace(worker: Settings) -> None:
    with PacedEvents(worker, "limits-site", RATE) as load:
        deadline = time.monotonic() + 60
        while stored(worker) < max(RATE, load.sent - RATE):  # the sink has caught up with the stream
            assert time.monotonic() < deadline, f"the events sink stored {stored(worker)} of {load.sent}"
            time.sleep(0.2)
        baseline = rate_over(worker, 3.0)

        answer: list[httpx.Response] = []
        heavy = threading.Thread(target=lambda: answer.append(ask(worker, HEAVY)))
        before, started = stored(worker), time.monotonic()
        heavy.start()
        heavy.join(timeout=60)
        during = (stored(worker) - before) / (time.monotonic() - started)
        sent = load.sent
    [r] = answer
    print(f"sink rate: {baseline:.0f} rows/s before, {during:.0f} rows/s during the heavy query; offered {RATE}/s")
    assert r.status_code == 400, r.text
    assert "time limit" in r.json()["error"] and "LEADSTREAM_QUERY_MAX_EXECUTION_TIME_S" in r.json()["error"]
    assert sent > 0 and baseline > 0
    # The stream is offered at RATE; a sink keeping its pace stores about that much a second. Before
    # the limits the query held the warehouse's one thread: nothing was stored while it ran.
    assert during >= 0.5 * min(baseline, RATE), f"the sink slowed to {during:.0f} rows/s during the query"


def wait_health(settings: Settings, status: int, loop_failing: str | None = None, timeout_s: float = 60) -> dict:
    """The health page once it answers ``status`` (and, if given, names ``loop_failing`` among the failing)."""
    deadline = time.monotonic() + timeout_s
    while True:
        r = httpx.get(f"{settings.worker_url}/leadstream/health", timeout=10)
        named = loop_failing is None or any(f.startswith(f"{loop_failing}: ") for f in r.json()["failing"])
        if (r.status_code == status and named) or time.monotonic() > deadline:
            assert r.status_code == status and named, r.text
            return r.json()
        time.sleep(0.3)


def test_stalled_loop_turns_health_to_503(worker: Settings) -> None:
    healthy = wait_health(worker, 200)
    loops = healthy["loops"]
    assert {"events sink", "session scorer", "call matcher", "daily stats refresher"} <= set(loops)
    assert any(name.startswith("os stage ") for name in loops)
    assert loops["events sink"]["last_poll"] is not None

    flag = worker.fault_warehouse_outage_file
    assert flag is not None
    flag.touch()
    try:
        with PacedEvents(worker, "stall-site", 50):  # something for the sink to insert, which now hangs
            body = wait_health(worker, 503, loop_failing="events sink")
        assert any(f.startswith("events sink: stuck: no poll") for f in body["failing"]), body["failing"]
        assert body["loops"]["events sink"]["ok"] is False
    finally:
        flag.unlink()
    body = wait_health(worker, 200)
    assert body["loops"]["events sink"]["ok"] is True
