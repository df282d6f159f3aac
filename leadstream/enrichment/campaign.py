"""Ad-campaign attribution from a landing URL and the tracker's meta: UTM parameters and the
Google Ads ValueTrack template (adgroup, matchtype, network, placement, ...).

Values that are placeholders rather than data (``{matchtype}`` left unexpanded, ``(not set)``,
``null`` ...) are dropped: they would otherwise read as a campaign.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import parse_qsl, urlsplit

# URL / meta parameter -> column
CAMPAIGN_PARAMS: dict[str, str] = {
    "utm_source": "utm_source",
    "utm_medium": "utm_medium",
    "utm_campaign": "utm_campaign",
    "utm_term": "utm_term",
    "utm_content": "utm_content",
    "utm_adgroup": "utm_adgroup",
    "adgroup": "utm_adgroup",
    "matchtype": "matchtype",
    "network": "network",
    "placement": "placement",
    "adposition": "adposition",
    "devicemodel": "ads_device_model",
    "targetid": "target_id",
    "feeditemid": "feed_item_id",
    "loc_interest_ms": "loc_interest_ms",
    "loc_physical_ms": "loc_physical_ms",
}
CAMPAIGN_COLUMNS: tuple[str, ...] = tuple(dict.fromkeys(CAMPAIGN_PARAMS.values()))
CLICK_ID_PARAMS = frozenset({"gclid", "wbraid", "gbraid", "gclsrc", "dclid", "fbclid", "msclkid", "ttclid"})
MAX_VALUE = 256

_PLACEHOLDERS = frozenset({"", "null", "undefined", "none", "unknown", "n/a", "na", "nil", "(not set)", "(none)"})


def clean(value: object) -> str | None:
    """The value as stored, or None when it is a placeholder."""
    if value is None:
        return None
    text = str(value).strip()
    lowered = text.lower()
    if lowered in _PLACEHOLDERS or "{" in text or "}" in text or "%7b" in lowered or text.startswith("[%"):
        return None
    return text[:MAX_VALUE]


def campaign_from(meta: Mapping[str, str], url: str) -> dict[str, str]:
    """The campaign fields an event carries: the page URL's query (fragment ``#...?k=v`` too),
    then the tracker's meta for what the URL lacks."""
    found: dict[str, str] = {}
    try:
        parts = urlsplit(url)
    except ValueError:
        parts = None
    if parts is not None:
        fragment_query = parts.fragment.partition("?")[2]
        for key, value in (*parse_qsl(parts.query), *parse_qsl(fragment_query)):
            column = CAMPAIGN_PARAMS.get(key.lower())
            if column and (cleaned := clean(value)):
                found[column] = cleaned  # a fragment value wins, as trackers that route by hash expect
    for key, value in meta.items():
        column = CAMPAIGN_PARAMS.get(key.lower())
        if column and column not in found and (cleaned := clean(value)):
            found[column] = cleaned
    return found


def referrer_host(referrer: str | None) -> str:
    if not referrer:
        return ""
    try:
        parts = urlsplit(referrer)
    except ValueError:
        return ""
    host = parts.hostname or ""
    return host.removeprefix("www.") if parts.scheme in ("http", "https") else ""
