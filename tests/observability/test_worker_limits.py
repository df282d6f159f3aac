"""The worker under an analyst's heavy query, and a stalled loop, on the real stack (one worker process).

* A query past a limit the test sets gets a clear error, whatever the machine's speed, and the events
  sink goes on storing the stream (that the writer never waits for the analysts' thread is shown
  deterministically in tests/security/test_analyst_sql.py).
* A sink stuck on its insert (the warehouse outage failpoint) turns ``/leadstream/health`` to 503 naming
  it, and back to 200 once the warehouse answers again.
"""

from __future__ import annotations

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
RESULT_ROWS = 1000
# 9 million rows to sort before the first comes out: heavy, and past the test's row limit however fast
# the machine is (a slow one may reach the time limit first: also the test's)
HEAVY = (
    "SELECT a, b FROM (SELECT arrayJoin(range(3000)) AS a) AS x CROSS JOIN (SELECT arrayJoin(range(3000)) AS b) AS y "
    "ORDER BY cityHash64(a, b)"
)


@pytest.fixture(scope="module")
def worker(stack: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    from tests.conftest import delete_topics, isolated_settings

    tmp = tmp_path_factory.mktemp("limits")
    settings = isolated_settings(tmp / "var", tmp / "unused").model_copy(
        update={
            "clickhouse_dsn": f"chdb://{tmp / 'warehouse'}",
            "query_max_execution_time_s": TIME_LIMIT_S,
            "query_max_result_rows": RESULT_ROWS,
            "health_stall_s": 5.0,
            "fault_warehouse_outage_file": tmp / "warehouse-down",
        }
    )
    with leadstream_process("worker", settings, f"{settings.worker_url}/leadstream/health", tmp / "worker.log"):
        yield settings
    delete_topics((settings.topic_prefix, settings.worker_group))


def ask(settings: Settings, sql: str, timeout_s: float = 60) -> httpx.Response:
    url = f"{settings.worker_url}/leadstream/query"
    return httpx.post(url, json={"sql": sql}, headers=settings.analyst_headers, timeout=timeout_s)


def stored(settings: Settings) -> float:
    return total(f"{settings.worker_url}/metrics", "leadstream_warehouse_rows_inserted_total", table="events")


def test_limits_give_clear_errors(worker: Settings) -> None:
    r = ask(worker, "SELECT n FROM (SELECT arrayJoin(range(5000)) AS n)")
    assert r.status_code == 400 and f"more than {RESULT_ROWS} rows" in r.json()["error"], r.text
    assert "LEADSTREAM_QUERY_MAX_RESULT_ROWS" in r.json()["error"]
    r = ask(worker, "SELECT 1 SETTINGS max_result_rows = 0")  # an analyst cannot lift a limit
    assert r.status_code == 400 and "SETTINGS" in r.json()["error"], r.text
    r = ask(worker, "SELECT count() FROM (SELECT arrayJoin(range(10)))")
    assert r.status_code == 200 and r.json()["rows"] == [[10]]


def test_heavy_query_is_stopped_and_the_sink_keeps_storing(worker: Settings) -> None:
    with PacedEvents(worker, "limits-site", RATE) as load:
        deadline = time.monotonic() + 60
        while stored(worker) < RATE:  # the sink is storing the stream
            assert time.monotonic() < deadline, f"the events sink stored {stored(worker)} of {load.sent}"
            time.sleep(0.2)
        before, started = stored(worker), time.monotonic()
        r = ask(worker, HEAVY)
        took, during = time.monotonic() - started, stored(worker) - before
        after_answer = stored(worker)
        deadline = time.monotonic() + 60
        while stored(worker) <= after_answer:  # and goes on once the query is over
            assert time.monotonic() < deadline, "the events sink stopped storing after the heavy query"
            time.sleep(0.2)
    print(f"the heavy query took {took:.1f}s; the sink stored {during:.0f} rows meanwhile (offered {RATE}/s)")
    assert r.status_code == 400 and r.json()["limit"] is True, r.text
    error = r.json()["error"]
    assert "LEADSTREAM_QUERY_MAX_RESULT_ROWS" in error or "LEADSTREAM_QUERY_MAX_EXECUTION_TIME_S" in error, error
    assert httpx.get(f"{worker.worker_url}/leadstream/health", timeout=10).status_code == 200


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
