"""User agent -> device type, OS, browser (with versions), and whether it is a bot.

Parsing uses ua-parser's bundled rules (native matcher: ~20 us a new user agent); results are
cached per user agent string, which repeats heavily in real traffic.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from ua_parser import parse

# Crawlers the parser's "Spider" device does not always catch, and headless browsers. Plain HTTP
# libraries (curl, python-httpx) are not bots here: servers send events through /api/sync too.
_BOT = re.compile(
    r"bot\b|bot/|crawl|spider|slurp|mediapartners|facebookexternalhit|embedly|preview|scrapy|"
    r"headless|phantomjs|puppeteer|playwright|selenium|webdriver|lighthouse|pagespeed",
    re.IGNORECASE,
)
_TABLET = re.compile(r"ipad|tablet|kindle|silk/|playbook|(android(?!.*mobile))", re.IGNORECASE)
_MOBILE = re.compile(r"mobi|iphone|ipod|android|phone|blackberry|opera mini|iemobile", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Device:
    device_type: str = ""  # desktop | mobile | tablet | bot; empty without a user agent
    os: str = ""
    os_version: str = ""
    browser: str = ""
    browser_version: str = ""
    is_bot: bool = False


NO_AGENT = Device()


@lru_cache(maxsize=65536)
def describe(user_agent: str | None) -> Device:
    if not user_agent:
        return NO_AGENT
    result = parse(user_agent)
    agent, system, device = result.user_agent, result.os, result.device
    is_bot = bool((device and device.family == "Spider") or _BOT.search(user_agent))
    if is_bot:
        kind = "bot"
    elif _TABLET.search(user_agent):
        kind = "tablet"
    elif _MOBILE.search(user_agent):
        kind = "mobile"
    else:
        kind = "desktop"
    return Device(
        device_type=kind,
        os=system.family if system else "",
        os_version=_version(system.major, system.minor, system.patch) if system else "",
        browser=_browser_name(agent.family) if agent else "",
        browser_version=_version(agent.major, agent.minor, agent.patch) if agent else "",
        is_bot=is_bot,
    )


def _version(*parts: str | None) -> str:
    out = []
    for part in parts:
        if not part:
            break
        out.append(part)
    return ".".join(out)


def _browser_name(family: str) -> str:
    """The browser, whatever the device: "Mobile Safari" and "Chrome Mobile iOS" are Safari and
    Chrome (the device type says mobile)."""
    words = [w for w in family.split() if w != "Mobile"]
    if len(words) > 1 and words[-1] == "iOS":
        words.pop()
    return " ".join(words) or family
