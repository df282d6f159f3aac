"""Provider answers -> discovered companies and signals, and the queries sent (pure; no I/O)."""

from __future__ import annotations

from typing import Any

import pytest

from leadstream.providers import ProviderError, ProviderQuery, apollo, linkedin
from tests.providers.samples import APOLLO_SEARCH, LINKEDIN_SEARCH


def test_apollo_organizations_become_companies() -> None:
    found = apollo.companies_from(APOLLO_SEARCH)
    assert found.signals == []
    assert found.companies == [
        {
            "company_id": "apollo:64a1f0",
            "name": "Gulf Payroll Co",
            "domain": "gulfpayroll.ae",
            "industry": "banking",
            "size": "420",
            "linkedin_url": "http://www.linkedin.com/company/gulf-payroll",
            "location": "Dubai, United Arab Emirates",
            "source": "apollo",
        },
        {
            "company_id": "apollo:64a1f1",
            "name": "Desert Logistics",
            "domain": "desertlogistics.com",
            "industry": "logistics & supply chain",
            "size": None,
            "linkedin_url": None,
            "location": "Jebel Ali, Dubai",
            "source": "apollo",
        },
    ]


def test_apollo_accounts_come_with_the_organizations() -> None:
    payload = {"accounts": [{"id": "acc-1", "organization_id": "org-9", "name": "Saved Co"}], "organizations": []}
    [saved] = apollo.companies_from(payload).companies
    assert saved["company_id"] == "apollo:org-9" and saved["name"] == "Saved Co"


@pytest.mark.parametrize("payload", [{"error": "nope"}, {"organizations": "x"}, "text", None])
def test_apollo_answer_without_organizations_is_an_error(payload: Any) -> None:
    with pytest.raises(ProviderError, match="unexpected response"):
        apollo.companies_from(payload)


def test_apollo_query_string() -> None:
    query = ProviderQuery({"name": "Gulf", "industry": "banking", "domain": "https://www.gulf.ae/"}, 250, "UAE")
    assert apollo.search_params(query) == [
        ("page", 1),
        ("per_page", 100),
        ("q_organization_name", "Gulf"),
        ("q_organization_domains_list[]", "gulf.ae"),
        ("q_organization_keyword_tags[]", "banking"),
        ("organization_locations[]", "United Arab Emirates"),
    ]
    assert apollo.search_params(ProviderQuery({"location": "Dubai"}, 5)) == [
        ("page", 1),
        ("per_page", 5),
        ("organization_locations[]", "Dubai"),
    ]


def test_linkedin_companies_and_updates() -> None:
    found = linkedin.companies_from(LINKEDIN_SEARCH)
    assert found.companies == [
        {
            "company_id": "linkedin:1001",
            "name": "Emirates Fintech Hub",
            "domain": "efhub.ae",
            "industry": None,  # LinkedIn's industry URNs name nothing
            "size": "51-200",
            "linkedin_url": "https://www.linkedin.com/company/emirates-fintech-hub",
            "location": "Abu Dhabi, AE",
            "source": "linkedin",
        },
        {
            "company_id": "linkedin:1002",
            "name": "Sharjah Builders",
            "domain": "sharjahbuilders.ae",
            "industry": "construction",
            "size": "80",
            "linkedin_url": "https://www.linkedin.com/company/sharjah-builders",
            "location": "Sharjah, AE",
            "source": "linkedin",
        },
    ]
    assert found.signals == [
        {
            "signal_id": "linkedin:1002:u-1",
            "company_id": "linkedin:1002",
            "type": "hiring",
            "source": "linkedin",
            "evidence": "We are hiring 30 engineers in Sharjah",
            "confidence": 0.7,
            "date": "2026-11-01",
        },
        {
            "signal_id": "linkedin:1002:1",
            "company_id": "linkedin:1002",
            "type": "company_update",
            "source": "linkedin",
            "evidence": "Proud to open our new office",
            "confidence": 0.7,
            "date": None,
        },
    ]


@pytest.mark.parametrize("key", ["companies", "data", "results"])
def test_linkedin_answers_from_gateways(key: str) -> None:
    company = {"companyId": "g-1", "companyName": {"localized": {"en_US": "Gateway Co"}}, "size_range": {"x": 1}}
    for payload in ({key: [company]}, [company]):
        [found] = linkedin.companies_from(payload).companies
        assert found["company_id"] == "linkedin:g-1" and found["name"] == "Gateway Co"


def test_linkedin_answer_without_a_list_is_an_error() -> None:
    with pytest.raises(ProviderError, match="'elements'"):
        linkedin.companies_from({"message": "Not enough permissions"})


def test_linkedin_query() -> None:
    assert linkedin.search_params(ProviderQuery({}, 500, "UAE")) == {
        "q": "search",
        "query": "United Arab Emirates",
        "start": 0,
        "count": 100,
    }
    query = ProviderQuery({"name": "Acme", "industry": "banking", "size": 10}, 20, "UAE")
    assert linkedin.search_params(query)["query"] == "Acme banking"


def test_long_texts_are_cut() -> None:
    [org] = apollo.companies_from({"organizations": [{"id": "x", "name": "N" * 5000}]}).companies
    assert len(org["name"]) == 512
