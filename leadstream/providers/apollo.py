"""Apollo.io organization search (``POST /api/v1/mixed_companies/search``, header ``x-api-key``).

Filters go in the query string: ``q_organization_name`` (filters.name), ``q_organization_domains_list[]``
(filters.domain), ``q_organization_keyword_tags[]`` (filters.industry or filters.keywords) and
``organization_locations[]`` (filters.location, else the region's name); one page of up to 100.
The answer lists ``organizations`` (and ``accounts``, the caller's own saved companies) with ``id``,
``name``, ``primary_domain`` / ``website_url``, ``industry``, ``estimated_num_employees``,
``linkedin_url`` and ``city`` / ``state`` / ``country``. Apollo's search carries no signals.
"""

from __future__ import annotations

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

NAME = "apollo"
CREDENTIAL = "apollo_api_key"  # the setting holding the key
SEARCH_PATH = "/api/v1/mixed_companies/search"
MAX_PER_PAGE = 100


def search_params(query: ProviderQuery) -> list[tuple[str, str | int]]:
    params: list[tuple[str, str | int]] = [("page", 1), ("per_page", min(query.limit, MAX_PER_PAGE))]
    for param, value in (
        ("q_organization_name", query.text("name")),
        ("q_organization_domains_list[]", domain_key(query.text("domain"))),
        ("q_organization_keyword_tags[]", query.text("industry", "keywords")),
        ("organization_locations[]", query.place),
    ):
        if value:
            params.append((param, value))
    return params


def companies_from(payload: Any) -> ProviderResult:
    """Apollo's answer as discovered companies; organizations without an id are skipped."""
    found = ProviderResult()
    for org in items(payload, "accounts", "organizations"):
        provider_id = text(org, "organization_id", "id")
        if provider_id is None:
            continue
        employees = org.get("estimated_num_employees")
        found.companies.append(
            company(
                NAME,
                provider_id,
                name=text(org, "name"),
                domain=domain_key(text(org, "primary_domain", "domain", "website_url")),
                industry=text(org, "industry") or _first_text(org.get("industries")),
                size=str(employees) if isinstance(employees, int) and employees > 0 else None,
                linkedin_url=text(org, "linkedin_url"),
                location=place(org.get("city"), org.get("state"), org.get("country")) or text(org, "raw_address"),
            )
        )
    return found


async def search(http: httpx.AsyncClient, settings: Settings, query: ProviderQuery) -> ProviderResult:
    payload = await fetch_json(
        http,
        "POST",
        settings.apollo_base_url.rstrip("/") + SEARCH_PATH,
        params=search_params(query),
        headers={
            "x-api-key": _secret(settings.apollo_api_key),
            "Accept": "application/json",
            "Cache-Control": "no-cache",
        },
        retries=settings.provider_retries,
        credential=env_var(CREDENTIAL),
    )
    return companies_from(payload)


def _first_text(values: object) -> str | None:
    if isinstance(values, list):
        return next((v.strip() for v in values if isinstance(v, str) and v.strip()), None)
    return None
