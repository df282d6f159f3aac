"""Consent at the edge (SPEC §7): what a visitor's ``consent_scopes`` let the edge keep.

- No ``analytics``: the event is not published at all.
- No ``marketing``: it is published without click ids and campaign parameters (meta and URL).
- No scopes at all: consented to both, unless the site requires consent (then: neither).
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from leadstream.enrichment.campaign import CAMPAIGN_PARAMS, CLICK_ID_PARAMS
from leadstream.schemas.sites import SiteRecord
from leadstream.schemas.tracking import SyncEvent

CONSENT_MISSING_HEADER = "x-leadstream-consent-missing"
_MARKETING_PARAMS = CLICK_ID_PARAMS | frozenset(CAMPAIGN_PARAMS) | frozenset({"utm_id"})


def granted(event: SyncEvent, site: SiteRecord, scope: str) -> bool:
    if event.consent_scopes is None:
        return not site.require_consent
    return scope in event.consent_scopes


def without_marketing(event: SyncEvent) -> SyncEvent:
    """The event as stored without marketing consent: no click ids, no campaign parameters."""
    meta = event.meta
    extra = {k: v for k, v in meta.extra.items() if not _marketing_key(k)}
    clean_meta = meta.model_copy(update={"gclid": None, "wbraid": None, "gbraid": None, "extra": extra})
    return event.model_copy(update={"meta": clean_meta, "u": _without_marketing_params(event.u)})


def _marketing_key(key: str) -> bool:
    lowered = key.lower()
    return lowered in _MARKETING_PARAMS or lowered.startswith("utm_")


def _without_marketing_params(url: str) -> str:
    """The URL without marketing parameters, in its query and in a hash route's (``#/p?utm_...``)."""
    parts = urlsplit(url)
    route, mark, route_query = parts.fragment.partition("?")
    if not parts.query and not route_query:
        return url
    fragment = route + mark + _kept(route_query) if route_query else parts.fragment
    return urlunsplit(parts._replace(query=_kept(parts.query), fragment=fragment))


def _kept(query: str) -> str:
    return urlencode([(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if not _marketing_key(k)])
