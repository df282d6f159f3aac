"""Debian's headless Chromium, driven over the DevTools protocol (no WebDriver needed).

Enough of the protocol for a page a visitor uses: open a tab, load a URL, run script, move the
mouse over an element and click it, scroll, and record every request the page makes (fetch and
sendBeacon alike). Host resolution is pinned to 127.0.0.1: nothing leaves the machine.
"""

from __future__ import annotations

import asyncio
import itertools
import shutil
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect

BINARY = shutil.which("chromium") or "/usr/bin/chromium"
# A visitor's desktop Chrome: the pipeline flags "HeadlessChrome" as a bot and keeps it out of the
# analysts' views, which is right for real headless traffic but not for these visitors.
VISITOR_AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36"
FLAGS = [
    f"--user-agent={VISITOR_AGENT}",
    "--headless=new",
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",  # no calls home (the machine's network is closed anyway)
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-features=Translate,MediaRouter,OptimizationHints",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",  # wa.me and the rest fail locally
    "--remote-debugging-port=0",
]


class DevToolsError(RuntimeError):
    pass


@dataclass
class Request:
    url: str
    method: str
    body: str | None
    type: str


@dataclass
class Page:
    browser: Chromium
    session: str
    requests: list[Request] = field(default_factory=list)

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        return await self.browser.call(method, session=self.session, **params)

    async def goto(self, url: str, timeout_s: float = 15) -> None:
        loaded = self.browser.expect("Page.loadEventFired", self.session)
        await self.call("Page.navigate", url=url)
        await asyncio.wait_for(loaded, timeout_s)

    async def eval(self, expression: str) -> Any:
        result = await self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise DevToolsError(f"{expression!r} threw: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def center(self, selector: str) -> tuple[float, float]:
        box = await self.eval(
            f"(() => {{ const e = document.querySelector({orjson.dumps(selector).decode()});"
            " e.scrollIntoView({block: 'center'}); const r = e.getBoundingClientRect();"
            " return [r.x + r.width / 2, r.y + r.height / 2]; })()"
        )
        return box[0], box[1]

    async def hover(self, selector: str) -> None:
        x, y = await self.center(selector)
        await self.call("Input.dispatchMouseEvent", type="mouseMoved", x=x, y=y)

    async def click(self, selector: str) -> None:
        x, y = await self.center(selector)
        await self.call("Input.dispatchMouseEvent", type="mouseMoved", x=x, y=y)
        for kind in ("mousePressed", "mouseReleased"):
            await self.call("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)

    async def scroll_to(self, fraction: float) -> None:
        """Scroll so the bottom of the viewport sits at ``fraction`` of the page; returns once the
        page has had its scroll event (they come once a frame)."""
        await self.eval(
            "new Promise((done) => { addEventListener('scroll', () => setTimeout(done, 50), {once: true});"
            f" scrollTo(0, document.documentElement.scrollHeight * {fraction} - innerHeight) }})"
        )

    def sent_to(self, prefix: str) -> list[Request]:
        return [r for r in self.requests if r.url.startswith(prefix) and r.method == "POST"]


class Chromium:
    def __init__(self, profile: Path) -> None:
        self._profile = profile
        self._proc: subprocess.Popen[bytes] | None = None
        self._ws: ClientConnection | None = None
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._waiters: list[tuple[str, str | None, asyncio.Future[dict[str, Any]]]] = []
        self._pages: dict[str, Page] = {}
        self._reader: asyncio.Task[None] | None = None

    async def start(self, timeout_s: float = 30) -> None:
        self._profile.mkdir(parents=True, exist_ok=True)
        log = (self._profile / "chromium.log").open("wb")
        self._proc = subprocess.Popen(
            [BINARY, *FLAGS, f"--user-data-dir={self._profile}", "about:blank"], stdout=log, stderr=log
        )
        port_file = self._profile / "DevToolsActivePort"
        for _ in range(int(timeout_s * 10)):
            if port_file.exists() and len(lines := port_file.read_text().split()) >= 2:
                break
            if self._proc.poll() is not None:
                raise DevToolsError(f"chromium exited: {(self._profile / 'chromium.log').read_text()[-2000:]}")
            await asyncio.sleep(0.1)
        else:
            raise DevToolsError("chromium did not open its DevTools port")
        self._ws = await connect(f"ws://127.0.0.1:{lines[0]}{lines[1]}", max_size=None)
        self._reader = asyncio.create_task(self._read())

    async def stop(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
        if self._ws is not None:
            await self._ws.close()
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()

    async def call(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        assert self._ws is not None
        message_id = next(self._ids)
        reply: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[message_id] = reply
        message: dict[str, Any] = {"id": message_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        await self._ws.send(orjson.dumps(message).decode())
        return await asyncio.wait_for(reply, 30)

    def expect(self, event: str, session: str | None) -> asyncio.Future[dict[str, Any]]:
        waiter: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiters.append((event, session, waiter))
        return waiter

    async def new_page(self, init_script: str | None = None) -> Page:
        target = await self.call("Target.createTarget", url="about:blank")
        attached = await self.call("Target.attachToTarget", targetId=target["targetId"], flatten=True)
        page = Page(self, attached["sessionId"])
        self._pages[page.session] = page
        for domain in ("Page", "Runtime", "Network"):
            await page.call(f"{domain}.enable")
        if init_script:
            await page.call("Page.addScriptToEvaluateOnNewDocument", source=init_script)
        return page

    async def _read(self) -> None:
        assert self._ws is not None
        async for raw in self._ws:
            message = orjson.loads(raw)
            if "id" in message:
                reply = self._pending.pop(message["id"], None)
                if reply is not None and not reply.done():
                    if "error" in message:
                        reply.set_exception(DevToolsError(str(message["error"])))
                    else:
                        reply.set_result(message.get("result", {}))
                continue
            method, session = message.get("method"), message.get("sessionId")
            params = message.get("params", {})
            if method == "Network.requestWillBeSent" and session in self._pages:
                request = params["request"]
                self._pages[session].requests.append(
                    Request(request["url"], request["method"], request.get("postData"), params.get("type", ""))
                )
            for waiter in [w for w in self._waiters if w[0] == method and w[1] in (None, session)]:
                self._waiters.remove(waiter)
                if not waiter[2].done():
                    waiter[2].set_result(params)


@asynccontextmanager
async def chromium(profile: Path) -> AsyncIterator[Chromium]:
    browser = Chromium(profile)
    await browser.start()
    try:
        yield browser
    finally:
        await browser.stop()
