"""A live stack for the dashboard: worker and edge processes holding a known data set of one
site (visits, a form lead with a click id, a matched call), its key, and a headless Chromium."""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from leadstream.settings import Settings
from tests.oci.stack import call_lead, form_lead, leads_of, site_with_key
from tests.processes import edge_and_worker, run_cli
from tests.stats.live import send_data_set, wait_for_visits
from tests.tracker.chromium import Chromium, Page, chromium

SITE = "shop"
OTHER = "other-shop"
# Every error the page meets: script errors, rejected promises, console.error, CSP violations.
CATCH_ERRORS = """
window.__errors = [];
addEventListener('error', (e) => __errors.push(String(e.message || (e.target && e.target.src))), true);
addEventListener('unhandledrejection', (e) => __errors.push('unhandled: ' + String(e.reason)));
document.addEventListener('securitypolicyviolation', (e) => __errors.push('CSP: ' + e.violatedDirective));
const original = console.error;
console.error = (...args) => { __errors.push(args.map(String).join(' ')); original.apply(console, args); };
"""


@dataclass
class Live:
    settings: Settings
    http: httpx.Client
    key: str

    @property
    def url(self) -> str:
        return str(self.http.base_url).rstrip("/")

    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    def share(self, *flags: str) -> str:
        return run_cli(self.settings, "sites", "share", SITE, "--base-url", self.url, *flags).strip().splitlines()[-1]

    def leads(self) -> list[dict[str, Any]]:
        return leads_of(self.http, self.key, 3)


@pytest.fixture(scope="module")
def live(stack: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    with edge_and_worker(tmp_path_factory.mktemp("dashboard")) as (settings, http):
        key = site_with_key(settings, SITE)
        site_with_key(settings, OTHER)
        send_data_set(http, SITE, OTHER)
        form_lead(http, SITE, "fp-form", "Cj0KCQiA-dashboard-01")
        call_lead(http, SITE, "fp-call", None)
        wait_for_visits(http, key, SITE, 3)
        live = Live(settings, http, key)
        assert len(live.leads()) == 3
        yield live


@pytest.fixture
async def browser(tmp_path: Path) -> AsyncIterator[Chromium]:
    async with chromium(tmp_path / "profile") as b:
        yield b


async def open_page(browser: Chromium, width: int = 1280, height: int = 900) -> Page:
    page = await browser.new_page(init_script=CATCH_ERRORS)
    await page.call("Log.enable")  # failed loads (a 404, a CSP block) are log entries, not console calls
    page.first_log = browser.expect("Log.entryAdded", page.session)  # type: ignore[attr-defined]
    await page.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=False)
    return page


async def until(page: Page, expression: str, timeout_s: float = 30) -> Any:
    """The first truthy value of ``expression`` in the page, polled until ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = await page.eval(expression)
        if value or time.monotonic() > deadline:
            return value
        await asyncio.sleep(0.2)


async def drawn(page: Page, after: int = 0) -> int:
    """Waits until the page has drawn a state newer than ``after``; returns its number."""
    loaded = await until(
        page, f"Number(document.body.dataset.loaded || 0) > {after} && document.body.dataset.loaded", 90
    )
    assert loaded, "the dashboard did not finish drawing"
    return int(loaded)


async def screenshot(page: Page, path: Path) -> None:
    shot = await page.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
    path.write_bytes(base64.b64decode(shot["data"]))
