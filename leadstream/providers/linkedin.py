"""LinkedIn company search: ``GET {base}{linkedin_search_path}`` with ``Authorization: Bearer``.

By default LinkedIn's versioned REST Company Search (``/rest/companySearch?q=search&query=...``, a
restricted API); the base URL and path can point at any gateway that takes the same query (``q``,
``query``, ``start``, ``count``) and answers with companies as a list, or a list under ``elements``,
``companies``, ``data`` or ``results``. An entry is the organization itself or LinkedIn's decorated
form (``{"entity": "urn:li:organization:1", "entity~": {...}}``); recognised fields: ``id`` / URN,
``localizedName`` / ``name``, ``localizedWebsite`` / ``website`` / ``domain``, ``industry`` /
``industries``, ``staffCount`` / ``staffCountRange`` / ``employeeCount``, ``vanityName`` / ``url``,
``locations`` / ``headquarter`` / ``location``. Company updates (``updates``: ``{id, type, text,
date}``), which the reference read as LinkedIn signals, become signals of source ``linkedin``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from leadstream.providers.base import (
    ProviderQuery,
    ProviderResult,
    company,
    env_var,
    fetch_json,
    items,
    place,
    text,
)
from leadstream.providers.base import (
    secret_value as _secret,
)
from leadstream.salesos.stages import domain_key
from leadstream.settings import Settings

NAME = "linkedin"
CREDENTIAL = "linkedin_api_token"  # the setting holding the key
MAX_COUNT = 100
UPDATE_CONFIDENCE = 0.7
MAX_EVIDENCE = 500


def search_params(query: ProviderQuery) -> dict[str, str | int]:
    """Keywords from filters.name, filters.keywords or filters.industry, else the place to look in."""
    keywords = " ".join(v for v in (query.text("name"), query.text("keywords"), query.text("industry")) if v)
    return {"q": "search", "query": keywords or query.place, "start": 0, "count": min(query.limit, MAX_COUNT)}


def companies_from(payload: Any) -> ProviderResult:
    """LinkedIn's answer as discovered companies and their updates as signals; entries without an id are skipped."""
    found = ProviderResult()
    for entry in items(payload, "elements", "companies", "data", "results"):
        org = entry.get("entity~") if isinstance(entry.get("entity~"), Mapping) else entry
        provider_id = text(org, "id", "company_id", "companyId") or _urn_id(text(entry, "entity", "urn", "entityUrn"))
        if provider_id is None:
            continue
        found_company = company(
            NAME,
            provider_id,
            name=_name(org),
            domain=domain_key(text(org, "domain") or _localized(org, "localizedWebsite", "website", "websiteUrl")),
            industry=text(org, "industry") or _plain_industry(org.get("industries")),
            size=text(org, "staffCount", "employeeCount", "size") or _size_range(org.get("staffCountRange")),
            linkedin_url=text(org, "linkedin_url", "linkedinUrl", "url") or _company_page(text(org, "vanityName")),
            location=text(org, "location") or _address(org),
        )
        found.companies.append(found_company)
        found.signals += _signals(found_company["company_id"], org.get("updates"))
    return found


async def search(http: httpx.AsyncClient, settings: Settings, query: ProviderQuery) -> ProviderResult:
    headers = {
        "Authorization": f"Bearer {_secret(settings.linkedin_api_token)}",
        "Accept": "application/json",
        "X-Restli-Protocol-Version": "2.0.0",
        "LinkedIn-Version": settings.linkedin_api_version,
    }
    payload = await fetch_json(
        http,
        "GET",
        settings.linkedin_base_url.rstrip("/") + "/" + settings.linkedin_search_path.lstrip("/"),
        params=search_params(query),
        headers=headers,
        retries=settings.provider_retries,
        credential=env_var(CREDENTIAL),
    )
    return companies_from(payload)


def _urn_id(urn: str | None) -> str | None:
    """``urn:li:organization:1337`` -> ``1337``."""
    return (urn.rsplit(":", 1)[-1] or None) if urn else None


def _localized(org: Mapping[str, Any], *keys: str) -> str | None:
    """Text, or LinkedIn's localized form ``{"localized": {"en_US": "..."}}``."""
    for key in keys:
        value = org.get(key)
        if isinstance(value, Mapping) and isinstance(value.get("localized"), Mapping):
            value = next(iter(value["localized"].values()), None)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _name(org: Mapping[str, Any]) -> str | None:
    return _localized(org, "localizedName", "name", "companyName")


def _plain_industry(values: object) -> str | None:
    """The first industry given as a name (LinkedIn's own entries are URNs, which say nothing)."""
    if isinstance(values, list):
        return next((v.strip() for v in values if isinstance(v, str) and v.strip() and not v.startswith("urn:")), None)
    return None


def _size_range(value: object) -> str | None:
    """``{"start": 51, "end": 200}`` -> ``51-200``; LinkedIn's ``SIZE_51_TO_200`` -> ``51-200``."""
    if isinstance(value, Mapping) and value.get("start") is not None:
        end = value.get("end")
        return f"{value['start']}-{end}" if end is not None else f"{value['start']}+"
    if isinstance(value, str) and value.strip():
        return value.removeprefix("SIZE_").replace("_TO_", "-").replace("_OR_MORE", "+")
    return None


def _company_page(vanity: str | None) -> str | None:
    return f"https://www.linkedin.com/company/{vanity}" if vanity else None


def _address(org: Mapping[str, Any]) -> str | None:
    """The headquarters (or first location) as ``city, area, country``."""
    locations = org.get("locations")
    first = locations[0] if isinstance(locations, list) and locations else None
    for candidate in (org.get("headquarter"), org.get("headquarters"), first):
        if isinstance(candidate, Mapping):
            address = candidate.get("address") if isinstance(candidate.get("address"), Mapping) else candidate
            found = place(address.get("city"), address.get("geographicArea"), address.get("country"))
            if found:
                return found
    return None


def _signals(company_id: str, updates: object) -> list[dict[str, Any]]:
    if not isinstance(updates, list):
        return []
    signals = []
    for n, update in enumerate(u for u in updates if isinstance(u, Mapping)):
        evidence = text(update, "text", "commentary", "title", "evidence") or ""
        signals.append(
            {
                "signal_id": f"{company_id}:{text(update, 'id') or n}",
                "company_id": company_id,
                "type": text(update, "type") or "company_update",
                "source": NAME,
                "evidence": evidence[:MAX_EVIDENCE],
                "confidence": UPDATE_CONFIDENCE,
                "date": text(update, "date", "published_at", "created_at"),
            }
        )
    return signals
