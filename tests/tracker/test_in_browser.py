"""The tracker as a site owner installs it and a visitor meets it: one tag on a static page,
headless Chromium (Debian's) scrolling and clicking, against the real edge and worker.

What lands is read back from ClickHouse: ``events_v``, ``sessions_v`` and ``calls_v``.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest

from tests.tracker.chromium import Chromium, Page
from tests.tracker.conftest import Live, eventually
from tests.tracker.delaying_proxy import DelayingProxy

pytestmark = [pytest.mark.integration, pytest.mark.e2e, pytest.mark.browser]


async def open_page(browser: Chromium, url: str, init_script: str | None = None) -> Page:
    page = await browser.new_page(init_script)
    await page.goto(url)
    assert await eventually(lambda: page.eval("typeof leadstream == 'function' && !leadstream.q"), 15)
    return page


async def stored(page: Page) -> dict[str, Any]:
    return await page.eval("JSON.parse(localStorage.leadstream || '{}')")


def actions(live: Live, sid: str) -> Counter[tuple[str, float | None]]:
    rows = live.query(f"SELECT action, value FROM events_v WHERE session_id = '{sid}'")
    return Counter((r["action"], r["value"]) for r in rows)


def stored_once(live: Live, sid: str) -> bool:
    """Every event once even in the raw table (where re-sends would sit until a merge)."""
    [raw] = live.query(f"SELECT count() AS n, uniqExact(event_id) AS ids FROM events WHERE session_id = '{sid}'")
    return raw["n"] == raw["ids"] > 0


def session_events(live: Live, sid: str) -> int:
    rows = live.query(f"SELECT events FROM sessions_v WHERE session_id = '{sid}'")
    return rows[0]["events"] if rows else -1


async def test_one_tag_fills_events_sessions_and_calls(live: Live, browser: Chromium) -> None:
    landing = live.page("landing.html")
    page = await open_page(browser, f"{landing}?gclid=Cj0KCQiA-browser-01&utm_source=google&utm_medium=cpc")
    await page.scroll_to(0.6)
    await page.scroll_to(1.0)
    await page.hover("#tel")
    await page.click("#wa")  # a new tab (it cannot resolve wa.me here); this one stays
    await page.click("#spa")  # pushState
    await page.eval("history.back()")  # popstate
    await page.click("#tel")
    state = await stored(page)
    sid, fp = state["session"]["i"], state["visitor"]
    await asyncio.sleep(2.5)  # one flush window
    await page.goto("about:blank")  # pagehide: session_end by sendBeacon

    expected = Counter(
        {
            ("view", None): 3,  # landing, /pricing, landing again
            ("scroll_depth", 50.0): 1,
            ("scroll_depth", 90.0): 1,
            ("hover_intent", None): 3,  # tel: and wa.me links on the landing, tel: again after coming back
            ("phone_call", None): 1,
            ("whatsapp", None): 1,
            ("session_end", None): 1,
        }
    )
    assert await eventually(lambda: actions(live, sid) >= expected), actions(live, sid)
    got = actions(live, sid)
    assert got - Counter({("heartbeat", None): got[("heartbeat", None)]}) == expected
    assert stored_once(live, sid)

    [session] = live.query(f"SELECT fingerprint, gclid, source, medium FROM sessions_v WHERE session_id = '{sid}'")
    assert session == {"fingerprint": fp, "gclid": "Cj0KCQiA-browser-01", "source": "google", "medium": "cpc"}
    [first] = live.query(f"SELECT referrer, url FROM events_v WHERE session_id = '{sid}' ORDER BY received_at LIMIT 1")
    assert "gclid=Cj0KCQiA-browser-01" in first["url"]

    calls = await eventually(
        lambda: (
            (
                rows := live.query(
                    f"SELECT phone_number, phone_raw, status, toString(session_id) AS session, gclid "
                    f"FROM calls_v WHERE fingerprint = '{fp}' ORDER BY phone_number"
                )
            )
            and len(rows) == 2
            and rows
        )
    )
    assert calls == [
        {"phone_number": "+971501234567", "phone_raw": "tel:+971 50 123 4567", "status": "matched",
         "session": sid, "gclid": "Cj0KCQiA-browser-01"},
        {"phone_number": "whatsapp:+971501234567", "phone_raw": "https://wa.me/971501234567", "status": "matched",
         "session": sid, "gclid": "Cj0KCQiA-browser-01"},
    ]  # fmt: skip


async def test_unload_double_sends_are_counted_once(live: Live, browser: Chromium) -> None:
    # The edge's answers come back 3 s late: the first flush is still waiting when the page
    # goes away, so the beacon sends its events again (rt) after the edge already has them.
    with DelayingProxy(live.settings.edge_port, delay_s=3.0) as proxy:
        page = await open_page(browser, live.page("slow.html", endpoint=proxy.url))
        await page.scroll_to(1.0)
        state = await stored(page)
        await eventually(lambda: proxy.requests_containing(b'"ea":"scroll_depth"'), 10)  # the fetch is out
        await page.goto("about:blank")
        assert await eventually(lambda: proxy.requests_containing(b'"rt":1'), 10), "no double send happened"

    sid = state["session"]["i"]
    expected = Counter(
        {("view", None): 1, ("scroll_depth", 50.0): 1, ("scroll_depth", 90.0): 1, ("session_end", None): 1}
    )
    assert await eventually(lambda: actions(live, sid) >= expected)
    await asyncio.sleep(2)  # the re-sent copies have been through the sinks too
    assert actions(live, sid) == expected
    assert stored_once(live, sid)
    assert await eventually(lambda: session_events(live, sid) == 4, 30), live.query(
        f"SELECT events, heartbeats, conversions, interactions FROM sessions_v WHERE session_id = '{sid}'"
    )


async def test_consent_required_sends_and_stores_nothing_before_consent(live: Live, browser: Chromium) -> None:
    page = await open_page(browser, live.page("consent.html", 'data-consent="required"'))
    await page.scroll_to(1.0)
    await page.hover("#tel")
    await page.click("#tel")
    await asyncio.sleep(3)
    assert page.sent_to(live.edge.url) == []
    assert await page.eval("localStorage.length") == 0

    await page.eval("leadstream('consent', true)")
    await page.click("#tel")
    state = await eventually(lambda: stored(page), 5)
    sid = state["session"]["i"]
    got = await eventually(lambda: (a := actions(live, sid))[("phone_call", None)] and a)
    assert +got == Counter({("view", None): 1, ("phone_call", None): 1})  # nothing from before the consent
    scopes = live.query(f"SELECT DISTINCT consent_scopes FROM events_v WHERE session_id = '{sid}'")
    assert scopes == [{"consent_scopes": ["analytics", "marketing"]}]  # declared to the edge once given

    await page.eval("leadstream('consent', false)")  # withdrawn: everything stored is forgotten
    assert await page.eval("JSON.parse(localStorage.leadstream || '{}')") == {}


async def test_global_privacy_control_is_honoured(live: Live, browser: Chromium) -> None:
    gpc = "Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', {get: () => true})"
    page = await browser.new_page(init_script=gpc)
    await page.goto(live.page("gpc.html", "data-respect-dnt"))
    await page.scroll_to(1.0)
    await page.click("#tel")
    await asyncio.sleep(3)
    assert page.sent_to(live.edge.url) == [] and await page.eval("localStorage.length") == 0


async def test_the_outbox_survives_an_edge_outage(live: Live, browser: Chromium) -> None:
    page = await open_page(browser, live.page("outage.html") + "?utm_source=newsletter&utm_medium=email")
    state = await stored(page)
    sid = state["session"]["i"]
    assert await eventually(lambda: actions(live, sid)[("view", None)] == 1)

    live.edge.stop()
    try:
        await page.scroll_to(1.0)
        await page.hover("#tel")
        await page.click("#spa")
        await page.click("#tel")
        assert await eventually(lambda: page.eval("JSON.parse(localStorage.leadstream).outbox.length >= 6"), 10)
        await asyncio.sleep(3)  # retries fail meanwhile
    finally:
        live.edge.start()

    assert await eventually(lambda: page.eval("JSON.parse(localStorage.leadstream).outbox.length == 0"), 90)
    expected = Counter(
        {("view", None): 2, ("scroll_depth", 50.0): 1, ("scroll_depth", 90.0): 1, ("hover_intent", None): 1,
         ("phone_call", None): 1}
    )  # fmt: skip
    assert await eventually(lambda: actions(live, sid) >= expected)
    assert stored_once(live, sid)
    [session] = live.query(f"SELECT source, medium FROM sessions_v WHERE session_id = '{sid}'")
    assert session == {"source": "newsletter", "medium": "email"}
    fp = state["visitor"]
    [call] = await eventually(lambda: live.query(f"SELECT status FROM calls_v WHERE fingerprint = '{fp}'"))
    assert call == {"status": "matched"}
