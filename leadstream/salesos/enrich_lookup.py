"""``POST /api/os/enrich``: a company's industry from what leadstream knows, source by source: pure, no I/O.

Sources, each listed only when it answered with an industry (never one that did not):

* ``leadstream``: the tenant's own company record (loaded by ``POST /api/os/signals`` or
  ``leadstream os load``), matched by company id or domain: confidence :data:`LOADED_CONFIDENCE`;
* each discovery provider that is configured and found a company with exactly that domain
  (``apollo``, ``linkedin``): :data:`PROVIDER_CONFIDENCE`;
* ``domain_classifier``, the last and least sure: the keyword table :data:`INDUSTRY_KEYWORDS` over the
  domain's name part (and the company's name when known), :data:`KEYWORD_CONFIDENCE`; a sector top-level
  domain (``.bank``, ``.insurance``, ``.edu``, ``.gov`` and their country forms) :data:`TLD_CONFIDENCE`.

Every industry is read through the same table (:func:`normalise_industry`), so "banking", "Finance" and
Apollo's "financial services" all count as "Banking & Financial Services". The entity's ``industry`` is
the one whose sources' confidences sum highest; none answered: ``null``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from leadstream.salesos.stages import domain_key

LOADED_CONFIDENCE = 95
PROVIDER_CONFIDENCE = {"apollo": 85, "linkedin": 80}
DEFAULT_PROVIDER_CONFIDENCE = 75
TLD_CONFIDENCE = 50
KEYWORD_CONFIDENCE = 30
CLASSIFIER = "domain_classifier"
LOADED = "leadstream"

# Canonical industry -> keywords, matched inside a domain's name part or as words of free text.
# Short or ambiguous stems are left out on purpose ("oil" is in "foil", "care" in "scare").
INDUSTRY_KEYWORDS: Mapping[str, tuple[str, ...]] = {
    "Banking & Financial Services": (
        "bank", "banking", "finance", "financial", "fintech", "capital", "invest", "credit", "payments",
        "exchange", "lending", "wealth", "securities", "brokerage",
    ),
    "Insurance": ("insurance", "insure", "takaful", "assurance", "reinsurance"),
    "Technology": (
        "tech", "technology", "software", "soft", "cloud", "digital", "cyber", "systems", "computing", "saas",
        "information technology", "internet",
    ),
    "Healthcare": ("health", "healthcare", "hospital", "clinic", "medical", "pharma", "pharmaceutical", "dental"),
    "Real Estate": ("realty", "real estate", "properties", "property", "estates", "developments"),
    "Construction & Engineering": ("construction", "contracting", "engineering", "builders", "infrastructure"),
    "Logistics & Transport": (
        "logistics", "logistic", "shipping", "freight", "cargo", "transport", "airline", "airways", "aviation",
    ),
    "Retail & E-commerce": ("retail", "store", "stores", "mart", "mall", "ecommerce", "e-commerce", "fashion"),
    "Hospitality & Travel": ("hotel", "hotels", "resort", "hospitality", "travel", "tourism"),
    "Energy & Utilities": ("energy", "petroleum", "petro", "solar", "utilities", "power", "oil & gas", "oil and gas"),
    "Education": ("education", "school", "academy", "university", "college", "learning"),
    "Telecommunications": ("telecom", "telecommunications", "telco"),
    "Manufacturing": ("manufacturing", "industries", "industrial", "factory"),
    "Professional Services": ("consulting", "consultants", "advisory", "legal", "accounting", "audit"),
    "Media & Marketing": ("media", "marketing", "advertising", "publishing"),
    "Food & Beverage": ("food", "foods", "restaurant", "restaurants", "catering", "beverage", "coffee"),
    "Government": ("government", "ministry", "municipality", "authority"),
}  # fmt: skip
# Top-level domains (with or without a country part: .gov.ae, .ac.uk) that say the sector.
SECTOR_TLDS: Mapping[str, str] = {
    "bank": "Banking & Financial Services",
    "insurance": "Insurance",
    "edu": "Education",
    "ac": "Education",
    "gov": "Government",
}
SECOND_LEVEL = frozenset({"co", "com", "net", "org", "gov", "ac", "edu", "sch", "mil", "ltd", "plc"})


def _canonical_from_words(text: str) -> str | None:
    folded = text.casefold()
    for industry, keywords in INDUSTRY_KEYWORDS.items():
        for keyword in keywords:
            if re.search(rf"(?<![a-z0-9]){re.escape(keyword)}(?![a-z0-9])", folded):
                return industry
    return None


def normalise_industry(value: object) -> str | None:
    """Free text as one canonical industry: a keyword of the table as a word, else the text tidied
    ("widgets" -> "Widgets"); None for blanks and non-text."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = " ".join(value.split())[:128]
    if text in INDUSTRY_KEYWORDS:
        return text
    return _canonical_from_words(text) or (text[:1].upper() + text[1:])


def _domain_parts(domain: str) -> tuple[str, list[str]]:
    """``shop.acme-bank.co.ae`` -> (``acme-bank``, [``co``, ``ae``]): the registrable name and the suffix."""
    labels = domain.split(".")
    suffix = [labels.pop()] if len(labels) > 1 else []
    if len(labels) > 1 and labels[-1] in SECOND_LEVEL:
        suffix.insert(0, labels.pop())
    return labels[-1], suffix


def classify(domain: str | None, name: str | None = None) -> tuple[str, int] | None:
    """The classifier's guess and its confidence for a domain (and a company name), or None."""
    if domain:
        stem, suffix = _domain_parts(domain)
        for part in suffix:
            if part in SECTOR_TLDS:
                return SECTOR_TLDS[part], TLD_CONFIDENCE
        squashed = stem.replace("-", "")
        for industry, keywords in INDUSTRY_KEYWORDS.items():
            if any(" " not in k and len(k) >= 4 and k in squashed for k in keywords):
                return industry, KEYWORD_CONFIDENCE
    if name:
        found = _canonical_from_words(name)
        if found:
            return found, KEYWORD_CONFIDENCE
    return None


def looks_like_domain(value: str) -> bool:
    text = value.strip()
    return "." in text and " " not in text and "@" not in text.split("/", 1)[0] and domain_key(text) is not None


def source(name: str, industry: str, confidence: int) -> dict[str, Any]:
    return {"name": name, "industry": industry, "confidence": max(0, min(100, int(confidence)))}


def choose_industry(sources: Sequence[Mapping[str, Any]]) -> str | None:
    """The industry whose sources' confidences sum highest; ties: the surest single source, then the
    first listed."""
    totals: dict[str, int] = {}
    best: dict[str, int] = {}
    for s in sources:
        industry = s.get("industry")
        if isinstance(industry, str) and industry:
            totals[industry] = totals.get(industry, 0) + int(s["confidence"])
            best[industry] = max(best.get(industry, 0), int(s["confidence"]))
    if not totals:
        return None
    return max(totals, key=lambda i: (totals[i], best[i]))  # max keeps the first of equals


def enriched_entity(
    entity_id: str,
    company: Mapping[str, Any] | None,
    signal_count: int,
    provider_hits: Mapping[str, Mapping[str, Any]],
) -> dict[str, Any]:
    """One ``data.entities[]`` item: ``company`` is the tenant's record (None: not loaded),
    ``provider_hits`` the company each provider found with this domain."""
    domain = domain_key((company or {}).get("domain")) or (
        domain_key(entity_id) if looks_like_domain(entity_id) else None
    )
    sources = []
    if company is not None and (industry := normalise_industry(company.get("industry"))):
        sources.append(source(LOADED, industry, LOADED_CONFIDENCE))
    for provider, hit in provider_hits.items():
        if industry := normalise_industry(hit.get("industry")):
            sources.append(source(provider, industry, PROVIDER_CONFIDENCE.get(provider, DEFAULT_PROVIDER_CONFIDENCE)))
    names = [n for n in [(company or {}).get("name"), *(h.get("name") for h in provider_hits.values())] if n]
    guess = classify(domain, str(names[0]) if names else None)
    if guess is not None:
        sources.append(source(CLASSIFIER, *guess))
    return {
        "entity_id": entity_id,
        "domain": domain,
        "company_id": (company or {}).get("company_id"),
        "name": names[0] if names else None,
        "known": company is not None,
        "signals": signal_count,
        "industry": choose_industry(sources),
        "sources": sources,
    }


def provider_hit(found: Mapping[str, Any], domain: str | None) -> Mapping[str, Any] | None:
    """The company a provider returned whose domain is exactly ``domain`` (anything else is another company)."""
    if not domain:
        return None
    for company in found.get("companies", []):
        if isinstance(company, Mapping) and domain_key(company.get("domain")) == domain:
            return company
    return None
