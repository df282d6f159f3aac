"""Discovery's pure stage (SPEC §5.3): sources, the merge of provider results, dedup, filters, limit."""

from __future__ import annotations

from typing import Any

import pytest

from leadstream.salesos.stages import discover, domain_key, requested_sources

TENANT = [
    {"company_id": "c-1", "name": "Emirates Widgets", "domain": "https://www.Widgets.ae/", "industry": "banking"},
    {"company_id": "c-2", "name": "Small Co", "industry": "retail"},
]
TENANT_SIGNALS = [{"signal_id": "s-1", "company_id": "c-1", "type": "hiring", "source": "news"}]
APOLLO = {
    "companies": [
        {"company_id": "apollo:1", "name": "Widgets (Apollo)", "domain": "widgets.ae", "industry": "banking"},
        {"company_id": "apollo:2", "name": "Gulf Payroll", "domain": "gulfpayroll.ae", "industry": "banking"},
        {"company_id": "apollo:3", "name": "Desert Retail", "domain": "desert.ae", "industry": "retail"},
    ],
    "signals": [],
}
LINKEDIN = {
    "companies": [
        {"company_id": "linkedin:7", "name": "Gulf Payroll LLC", "domain": "gulfpayroll.ae", "industry": "banking"},
        {"company_id": "linkedin:8", "name": "Widgets", "domain": "www.widgets.ae", "industry": "banking"},
        {"company_id": "linkedin:9", "name": "Fintech Hub", "domain": "efhub.ae", "industry": "banking"},
    ],
    "signals": [
        {"signal_id": "l-7", "company_id": "linkedin:7", "type": "hiring", "source": "linkedin"},
        {"signal_id": "l-8", "company_id": "linkedin:8", "type": "expansion", "source": "linkedin"},
        {"signal_id": "l-9", "company_id": "linkedin:9", "type": "funding", "source": "linkedin"},
    ],
}
NO_CREDENTIALS = {"apollo": "no credentials: set LEADSTREAM_APOLLO_API_KEY"}


def run(config: dict[str, Any], external: dict[str, Any] | None = None, failed: Any = None) -> dict[str, Any]:
    return discover(TENANT, TENANT_SIGNALS, config, failed or {}, external)


def ids(found: dict[str, Any]) -> list[str]:
    return [c["company_id"] for c in found["companies"]]


def test_custom_is_the_default_source() -> None:
    found = run({})
    assert ids(found) == ["c-1", "c-2"] and found["total"] == 2
    assert found["signals"] == TENANT_SIGNALS
    assert found["sources"] == {"used": ["custom"], "failed": []}


def test_providers_follow_the_tenant_without_duplicates() -> None:
    found = run({"sources": ["custom", "apollo", "linkedin"]}, {"apollo": APOLLO, "linkedin": LINKEDIN})
    # apollo:1 and linkedin:8 are the tenant's c-1 (same domain); linkedin:7 is apollo:2
    assert ids(found) == ["c-1", "c-2", "apollo:2", "apollo:3", "linkedin:9"]
    assert found["sources"] == {"used": ["custom", "apollo", "linkedin"], "failed": []}


def test_a_left_out_copys_signals_follow_the_company_kept() -> None:
    found = run({"sources": ["custom", "apollo", "linkedin"]}, {"apollo": APOLLO, "linkedin": LINKEDIN})
    assert [(s["signal_id"], s["company_id"]) for s in found["signals"]] == [
        ("s-1", "c-1"),
        ("l-7", "apollo:2"),
        ("l-8", "c-1"),
        ("l-9", "linkedin:9"),
    ]
    assert LINKEDIN["signals"][1]["company_id"] == "linkedin:8"  # the provider's result is not changed


def test_filters_and_limit_cover_every_source() -> None:
    config = {"sources": ["linkedin", "custom", "apollo"], "filters": {"industry": "BANKING"}, "limit": 3}
    found = run(config, {"apollo": APOLLO, "linkedin": LINKEDIN})
    # the tenant's first whatever the order asked; then linkedin's new ones, then apollo's (none left)
    assert ids(found) == ["c-1", "linkedin:7", "linkedin:9"] and found["total"] == 3
    assert found["sources"]["used"] == ["linkedin", "custom", "apollo"]
    assert ids(run({**config, "limit": 10}, {"apollo": APOLLO, "linkedin": LINKEDIN})) == [
        "c-1",
        "linkedin:7",
        "linkedin:9",
    ]


def test_tenant_companies_only_when_custom_is_asked_for() -> None:
    found = run({"sources": ["apollo"]}, {"apollo": APOLLO})
    assert ids(found) == ["apollo:1", "apollo:2", "apollo:3"] and found["signals"] == []
    assert found["sources"]["used"] == ["apollo"]


def test_failed_and_unknown_sources_say_why() -> None:
    found = run({"sources": ["Apollo", "custom", "news", "apollo", 7, ""]}, failed=NO_CREDENTIALS)
    assert ids(found) == ["c-1", "c-2"]
    assert found["sources"] == {
        "used": ["custom"],
        "failed": [
            {"source": "apollo", "reason": "no credentials: set LEADSTREAM_APOLLO_API_KEY"},
            {"source": "news", "reason": "unknown source"},
        ],
    }


def test_results_of_sources_not_asked_for_are_ignored() -> None:
    found = run({"sources": ["custom"]}, {"apollo": APOLLO})
    assert ids(found) == ["c-1", "c-2"] and found["sources"]["used"] == ["custom"]


def test_requested_sources() -> None:
    assert requested_sources({}) == ["custom"]
    assert requested_sources({"sources": [" LinkedIn", "custom", "linkedin", None]}) == ["linkedin", "custom"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://www.Acme.ae/about?x=1", "acme.ae"),
        ("acme.ae", "acme.ae"),
        ("www.acme.ae:443", "acme.ae"),
        ("http://user@acme.ae#top", "acme.ae"),
        ("  ", None),
        (None, None),
        (12, None),
    ],
)
def test_domain_key(value: object, expected: str | None) -> None:
    assert domain_key(value) == expected
