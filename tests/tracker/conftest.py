"""A live stack for the tracker: worker and edge processes, a site whose pages a static server
on another port (another origin) serves, and a fresh headless Chromium per test."""

from __future__ import annotations

import asyncio
import functools
import http.server
import signal
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from leadstream.schemas.sites import SiteRecord
from leadstream.settings import Settings
from leadstream.sites.registry import publish_site
from leadstream.storage.analyst import analyst_query
from tests.conftest import delete_topics, isolated_settings
from tests.processes import leadstream_process, settings_env, wait_http
from tests.tracker.chromium import Chromium, chromium

SITE = "shop-tracker"


class Edge:
    """The edge as a process the tests may stop and start again."""

    def __init__(self, settings: Settings, log: Path) -> None:
        self.settings = settings
        self.url = f"http://127.0.0.1:{settings.edge_port}"
        self._log = log
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self._log.open("ab") as out:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "leadstream", "edge"],
                env=settings_env(self.settings),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_http(f"{self.url}/healthz", 60, self._proc, self._log)

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            self._proc.wait(timeout=30)


class Pages:
    """Static pages on a port of their own: ``http://127.0.0.1:<port>`` is the site's origin."""

    def __init__(self, root: Path) -> None:
        self.root = root
        handler = functools.partial(_QuietHandler, directory=str(root))
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.origin = f"http://127.0.0.1:{self._server.server_port}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def add(self, name: str, html: str) -> str:
        (self.root / name).write_text(html)
        return f"{self.origin}/{name}"

    def close(self) -> None:
        self._server.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


@dataclass
class Live:
    settings: Settings
    edge: Edge
    pages: Pages

    def query(self, sql: str) -> list[dict[str, Any]]:
        result = analyst_query(self.settings, sql)
        return [dict(zip(result.columns, row, strict=True)) for row in result.rows]

    def page(self, name: str, tag_attributes: str = "", endpoint: str | None = None) -> str:
        """A landing page with the one-tag install (plus the optional pre-load stub), call links,
        an SPA link and enough height to scroll.

        The page answers its tel: link itself, as sites with a call dialog do: once a tel: link
        has gone to the system, headless Chromium takes no more mouse input, and the next page
        change loses its pagehide beacon about one time in three (seen with a bare sendBeacon
        page too), which a desktop or phone browser does not do."""
        extra = f' data-endpoint="{endpoint}"' if endpoint else ""
        return self.pages.add(
            name,
            f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Plumbing in Dubai</title>
<script>
  window.leadstream = window.leadstream || function () {{ (leadstream.q = leadstream.q || []).push(arguments) }}
</script>
<script defer src="{self.edge.url}/t.js" data-site="{SITE}"{extra} {tag_attributes}></script>
</head><body>
<h1>Plumbing</h1>
<p><a id="tel" href="tel:+971 50 123 4567">Call us</a></p>
<p><a id="wa" href="https://wa.me/971501234567" target="_blank" rel="noopener">WhatsApp us</a></p>
<p><button id="spa" onclick="history.pushState({{}}, '', '/pricing')">Pricing</button></p>
<div style="height: 5000px"></div>
<p id="bottom">The end</p>
<script>document.addEventListener('click', (e) => e.target.closest('a[href^="tel:"]') && e.preventDefault())</script>
</body></html>""",
        )


@pytest.fixture(scope="module")
def live(stack: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    tmp = tmp_path_factory.mktemp("tracker")
    (tmp / "pages").mkdir()
    pages = Pages(tmp / "pages")
    settings = isolated_settings(tmp / "var", tmp / "unused").model_copy(
        update={"clickhouse_dsn": f"chdb://{tmp / 'warehouse'}", "call_reply_timeout_s": 3.0}
    )
    asyncio.run(publish_site(settings, SiteRecord(public_id=SITE, origins=[pages.origin])))
    edge = Edge(settings, tmp / "edge.log")
    with leadstream_process("worker", settings, f"{settings.worker_url}/leadstream/health", tmp / "worker.log"):
        edge.start()
        try:
            yield Live(settings, edge, pages)
        finally:
            edge.stop()
            pages.close()
    delete_topics((settings.topic_prefix, settings.worker_group))


@pytest.fixture
async def browser(tmp_path: Path) -> AsyncIterator[Chromium]:
    async with chromium(tmp_path / "profile") as b:
        yield b


async def eventually(check: Callable[[], Awaitable[Any]] | Callable[[], Any], timeout_s: float = 60) -> Any:
    """The first truthy result of ``check`` (sync or async), polled until ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result or time.monotonic() > deadline:
            return result
        await asyncio.sleep(0.5)
