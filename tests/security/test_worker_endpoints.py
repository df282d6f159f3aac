"""Who may call the worker's endpoints: its bind address, Host names, tokens and content type.

The app is driven in-process on a real (embedded) warehouse; the bind, and the whole chain from
the CLI's settings to the endpoints, on a real worker process.
"""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator

import httpx
import pytest
from starlette.testclient import TestClient

from leadstream.settings import Settings
from leadstream.storage.analyst import analyst_query
from leadstream.storage.warehouse import Warehouse
from leadstream.streams.daily_stats import DailyStatsRefresher
from leadstream.streams.web import create_web_app
from tests.conftest import ANALYST_TOKEN, WORKER_TOKEN

pytestmark = pytest.mark.integration

ANALYST = {"Authorization": f"Bearer {ANALYST_TOKEN}"}
WORKER = {"Authorization": f"Bearer {WORKER_TOKEN}"}


def client(settings: Settings, warehouse: Warehouse, host: str = "127.0.0.1") -> TestClient:
    app = create_web_app(settings, warehouse, DailyStatsRefresher(settings, warehouse))
    return TestClient(app, base_url=f"http://{host}:{settings.worker_port}", raise_server_exceptions=False)


@pytest.fixture
def web(settings: Settings, warehouse: Warehouse) -> Iterator[TestClient]:
    with client(settings, warehouse) as c:
        yield c


def ask(web: TestClient, sql: str, headers: dict[str, str] = ANALYST) -> httpx.Response:
    return web.post("/leadstream/query", json={"sql": sql}, headers=headers)


def test_a_foreign_host_header_is_refused_even_with_a_token(settings: Settings, warehouse: Warehouse) -> None:
    # DNS rebinding: a page's own name resolved to 127.0.0.1 still sends that name as Host
    with client(settings, warehouse, host="rebind.attacker.example") as c:
        for r in (c.get("/leadstream/health"), ask(c, "SELECT 1")):
            assert r.status_code == 421 and "LEADSTREAM_WORKER_ALLOWED_HOSTS" in r.json()["error"], r.text
    for name in ("localhost", "[::1]", "127.0.0.1"):
        with client(settings, warehouse, host=name) as c:
            assert c.get("/leadstream/health").status_code == 200, name


def test_configured_host_names_replace_the_defaults(settings: Settings, warehouse: Warehouse) -> None:
    named = settings.model_copy(update={"worker_allowed_hosts": ["worker.internal"]})
    with client(named, warehouse, host="worker.internal") as c:
        assert c.get("/leadstream/health").status_code == 200
    with client(named, warehouse) as c:
        assert c.get("/leadstream/health").status_code == 421
    assert Settings(worker_allowed_hosts="a.example, b.example:1").worker_allowed_hosts == ["a.example", "b.example:1"]


def test_health_and_metrics_need_no_token(web: TestClient) -> None:
    assert web.get("/leadstream/health").status_code == 200
    assert web.get("/metrics").status_code == 200


def test_the_query_needs_an_analyst_token(web: TestClient) -> None:
    for headers in ({}, WORKER, {"Authorization": "Bearer nope"}, {"Authorization": ANALYST_TOKEN}):
        r = ask(web, "SELECT 1", headers)
        assert r.status_code == 401 and "LEADSTREAM_ANALYST_TOKEN" in r.json()["error"], (headers, r.text)
    r = ask(web, "SELECT 1")
    assert r.status_code == 200 and r.json() == {"columns": ["1"], "rows": [[1]]}


def test_writes_need_the_worker_token(web: TestClient) -> None:
    for path in ("/leadstream/migrate", "/leadstream/stats/refresh"):
        for headers in ({}, ANALYST, {"Authorization": "Bearer nope"}):
            r = web.post(path, json={}, headers=headers)
            assert r.status_code == 401 and "LEADSTREAM_WORKER_TOKEN" in r.json()["error"], (path, headers, r.text)
    assert web.post("/leadstream/migrate", json={}, headers=WORKER).json() == {"applied": []}
    assert web.post("/leadstream/stats/refresh", json={}, headers=WORKER).status_code == 200


def test_without_tokens_configured_the_endpoints_are_off_on_loopback_too(
    settings: Settings, warehouse: Warehouse
) -> None:
    bare = settings.model_copy(update={"worker_token": None, "analyst_tokens": {}, "worker_host": "127.0.0.1"})
    with client(bare, warehouse) as c:
        r = c.post("/leadstream/migrate", json={}, headers=WORKER)
        assert r.status_code == 403 and "LEADSTREAM_WORKER_TOKEN" in r.json()["error"]
        r = ask(c, "SELECT 1", {"Authorization": "Bearer "})
        assert r.status_code == 403 and "LEADSTREAM_ANALYST_TOKENS" in r.json()["error"]


def test_only_json_is_taken_so_a_page_cannot_post_text_plain(web: TestClient) -> None:
    # what a cross-site form or a no-preflight fetch can send
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"):
        headers = {"Content-Type": content_type}
        r = web.post("/leadstream/query", content=b'{"sql": "SELECT 1"}', headers=headers | ANALYST)
        assert r.status_code == 415 and "application/json" in r.json()["error"], r.text
        r = web.post("/leadstream/migrate", content=b"{}", headers=headers | WORKER)
        assert r.status_code == 415, r.text
    r = web.post("/leadstream/query", content=b'{"sql": "SELECT 1"}', headers={"Content-Type": "text/plain"})
    assert r.status_code == 401  # and without a token, nothing at all


def test_bad_requests_get_json_errors(web: TestClient) -> None:
    assert web.get("/nowhere").json()["error"]
    assert web.get("/leadstream/query").status_code == 405 and web.get("/leadstream/query").json()["error"]
    r = web.post("/leadstream/query", content=b"not json", headers={"Content-Type": "application/json"} | ANALYST)
    assert r.status_code == 400 and r.json() == {"error": 'body must be {"sql": "<query>"}'}
    r = ask(web, "SELECT '" + "x" * 300_000 + "'")
    assert r.status_code == 413 and "larger than" in r.json()["error"]


def test_a_refused_query_is_a_400_that_says_why(web: TestClient) -> None:
    r = ask(web, "SELECT file('/proc/self/environ')")
    assert r.status_code == 400 and r.json()["error"].startswith("refused: the function file()"), r.text
    assert "PATH=" not in r.text and "LEADSTREAM_" not in r.text


def test_a_result_past_the_byte_limit_is_refused(web: TestClient) -> None:
    # 100 rows of 1 MB: the engine counts a constant column once, so the answer's own size is checked too
    for sql in (
        "SELECT repeat('x', 1000000) AS blob FROM (SELECT arrayJoin(range(100)) AS n)",
        "SELECT repeat(toString(n % 10), 1000000) AS blob FROM (SELECT arrayJoin(range(100)) AS n)",
    ):
        r = ask(web, sql)
        assert r.status_code == 400 and "LEADSTREAM_QUERY_MAX_RESULT_BYTES" in r.json()["error"], r.text[:300]
        assert r.json()["limit"] is True and len(r.content) < 10_000


# --- a real worker process ---------------------------------------------------------------------


def non_loopback_address() -> str | None:
    """An IPv4 address of this machine other than loopback, if it has one."""
    try:
        out = subprocess.run(["ip", "-4", "-o", "addr", "show"], capture_output=True, text=True, timeout=5).stdout
    except (OSError, subprocess.TimeoutExpired):
        out = ""
    found = [f.split("/")[0] for line in out.splitlines() for f in line.split()[3:4]]
    found.append(socket.gethostbyname(socket.gethostname()))
    return next((a for a in found if a and not a.startswith("127.")), None)


@pytest.fixture(scope="module")
def worker(stack: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    from tests.conftest import delete_topics, isolated_settings
    from tests.processes import leadstream_process

    tmp = tmp_path_factory.mktemp("endpoints")
    settings = isolated_settings(tmp / "var", tmp).model_copy(update={"clickhouse_dsn": f"chdb://{tmp / 'wh'}"})
    with leadstream_process("worker", settings, f"{settings.worker_url}/leadstream/health", tmp / "worker.log"):
        yield settings
    delete_topics((settings.topic_prefix, settings.worker_group))


@pytest.mark.e2e
def test_the_worker_listens_on_its_bind_address_only(worker: Settings) -> None:
    assert httpx.get(f"{worker.worker_url}/leadstream/health", timeout=10).status_code == 200
    address = non_loopback_address()
    if address is None:
        pytest.skip("this machine has no non-loopback IPv4 address to try the worker on")
    with socket.socket() as s, pytest.raises(OSError):
        s.settimeout(5)
        s.connect((address, worker.worker_port))


@pytest.mark.e2e
def test_the_real_worker_checks_host_token_and_content_type(worker: Settings) -> None:
    url = f"{worker.worker_url}/leadstream/query"
    body = {"sql": "SELECT 1"}
    assert httpx.post(url, json=body, headers={"Host": "attacker.example"}).status_code == 421
    assert httpx.post(url, json=body).status_code == 401
    text_plain = {"Content-Type": "text/plain"} | ANALYST
    assert httpx.post(url, content=b'{"sql": "SELECT 1"}', headers=text_plain).status_code == 415
    assert httpx.post(url, json=body, headers=ANALYST).json()["rows"] == [[1]]


@pytest.mark.e2e
def test_the_cli_sends_the_tokens_from_its_settings(worker: Settings) -> None:
    from tests.processes import run_cli

    assert analyst_query(worker, "SELECT 2").rows == [[2]]
    assert "through the worker" in run_cli(worker, "migrate")
    assert "through the worker" in run_cli(worker, "stats", "refresh")
    without = worker.model_copy(update={"analyst_tokens": {}, "analyst_token": None})
    with pytest.raises(Exception, match="LEADSTREAM_ANALYST_TOKEN"):
        analyst_query(without, "SELECT 1")
