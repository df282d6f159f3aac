import pytest

from leadstream.enrichment.device import Device, describe

IPHONE_SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


def test_an_iphone_safari_is_mobile_ios_safari() -> None:
    assert describe(IPHONE_SAFARI) == Device("mobile", "iOS", "17.4", "Safari", "17.4", False)


@pytest.mark.parametrize(
    ("user_agent", "kind", "os", "browser"),
    [
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/120.0.0.0 Safari/537.36",
            "desktop",
            "Windows",
            "Chrome",
        ),
        (
            "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/120.0.6099.144 Mobile Safari/537.36",
            "mobile",
            "Android",
            "Chrome",
        ),
        (
            "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/120.0 Safari/537.36",
            "tablet",
            "Android",
            "Chrome",
        ),
        (
            "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
            "Version/16.6 Mobile/15E148 Safari/604.1",
            "tablet",
            "iOS",
            "Safari",
        ),
    ],
)
def test_device_types(user_agent: str, kind: str, os: str, browser: str) -> None:
    device = describe(user_agent)
    assert (device.device_type, device.os, device.browser, device.is_bot) == (kind, os, browser, False)


@pytest.mark.parametrize(
    "user_agent",
    [
        GOOGLEBOT,
        "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
        "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36",
        "Mozilla/5.0 (Unknown; Linux x86_64) AppleWebKit/538.1 (KHTML, like Gecko) PhantomJS/2.1.1 Safari/538.1",
        "Mozilla/5.0 (Linux; Android 11; moto g power (2022)) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/109.0.0.0 Mobile Safari/537.36 Chrome-Lighthouse",
    ],
)
def test_crawlers_and_headless_browsers_are_bots(user_agent: str) -> None:
    device = describe(user_agent)
    assert device.is_bot and device.device_type == "bot"


def test_http_libraries_are_not_bots_servers_track_too() -> None:
    assert not describe("python-httpx/0.28.1").is_bot
    assert not describe("curl/8.5.0").is_bot


def test_no_user_agent() -> None:
    assert describe(None) == describe("") == Device()
