"""Entity field lookups for the sales-OS scores (SPEC §3.5).

Entities come from the SaaS (``entity_data``), the tenant's own uploads and enrichment, so the same
fact has several spellings. The first names in each tuple are the ones the reference accepts; the
rest are obvious synonyms accepted so that uploads need no renaming.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

DOMAIN_FIELDS = ("domain", "website_url", "website")
LINKEDIN_FIELDS = ("linkedin_url", "linkedin_profile", "linkedin")
INDUSTRY_FIELDS = ("industry", "sector")
SIZE_FIELDS = ("size_range", "size", "company_size", "employee_count", "employees", "headcount")
LOCATION_FIELDS = ("location", "locations", "headquarters", "hq_location", "city", "country")

# Place names per region, matched as whole words. Only UAE is active (SPEC §5.2).
REGION_PLACES = {
    "UAE": r"uae|u\.a\.e\.?|united arab emirates|dubai|abu[\s-]*dhabi|sharjah",
}
# ISO 3166 codes, only meaningful in a field that holds nothing but a country.
REGION_COUNTRY_CODES = {"UAE": frozenset({"ae", "are"})}
_FALSE_WORDS = frozenset({"", "false", "no", "n", "0", "none", "null"})


def is_present(value: object) -> bool:
    """Has content: non-blank text, a true flag, a positive number, a non-empty collection."""
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, int | float):
        return math.isfinite(value) and value > 0
    if isinstance(value, Mapping | list | tuple | set | frozenset):
        return any(is_present(v) for v in (value.values() if isinstance(value, Mapping) else value))
    return True


def has_any(entity: Mapping[str, Any], fields: Iterable[str]) -> bool:
    return any(is_present(entity.get(f)) for f in fields)


def _flag(value: object) -> bool:
    """A yes/no field: strings such as "false" or "no" mean no; other content means yes."""
    if isinstance(value, str):
        return value.strip().casefold() not in _FALSE_WORDS
    return is_present(value)


def _strings(value: object) -> list[str]:
    """All text inside a string, list or dict (one level of nesting each way is plenty)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        value = list(value.values())
    if isinstance(value, list | tuple | set | frozenset):
        return [s for v in value for s in _strings(v)]
    return []


def normalise_region(region: str | None) -> str:
    return (region or "UAE").strip().upper() or "UAE"


def has_region_presence(entity: Mapping[str, Any], region: str = "UAE") -> bool:
    """The entity operates in ``region``: an explicit ``<region>_presence``/``<region>_locations``
    field, or a location-like field naming a place in the region."""
    region = normalise_region(region)
    key = region.casefold()
    if _flag(entity.get(f"{key}_presence")) or is_present(entity.get(f"{key}_locations")):
        return True
    places = re.compile(rf"\b(?:{REGION_PLACES.get(region, re.escape(key))})\b", re.IGNORECASE)
    codes = REGION_COUNTRY_CODES.get(region, frozenset())
    country = entity.get("country")
    if isinstance(country, str) and country.strip().casefold() in codes:
        return True
    return any(places.search(s) for f in LOCATION_FIELDS for s in _strings(entity.get(f)))
