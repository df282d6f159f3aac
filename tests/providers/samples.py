"""Provider answers in the shapes of their public APIs, for the mapping and connector tests."""

from __future__ import annotations

from typing import Any

APOLLO_SEARCH: dict[str, Any] = {
    "breadcrumbs": [{"label": "Company Locations", "value": "United Arab Emirates"}],
    "partial_results_only": False,
    "accounts": [],
    "organizations": [
        {
            "id": "64a1f0",
            "name": "Gulf Payroll Co",
            "website_url": "http://www.gulfpayroll.ae",
            "primary_domain": "gulfpayroll.ae",
            "linkedin_url": "http://www.linkedin.com/company/gulf-payroll",
            "industry": "banking",
            "estimated_num_employees": 420,
            "city": "Dubai",
            "state": "Dubai",
            "country": "United Arab Emirates",
        },
        {
            "id": "64a1f1",
            "name": "Desert Logistics",
            "website_url": "https://desertlogistics.com/about",
            "primary_domain": None,
            "linkedin_url": None,
            "industries": ["logistics & supply chain"],
            "estimated_num_employees": None,
            "raw_address": "Jebel Ali, Dubai",
        },
        {"name": "Nameless id"},
        "not an organization",
    ],
    "pagination": {"page": 1, "per_page": 10, "total_entries": 3, "total_pages": 1},
}

LINKEDIN_SEARCH: dict[str, Any] = {
    "paging": {"count": 10, "start": 0, "total": 3},
    "elements": [
        {
            "entity": "urn:li:organization:1001",
            "entity~": {
                "localizedName": "Emirates Fintech Hub",
                "vanityName": "emirates-fintech-hub",
                "localizedWebsite": "https://www.efhub.ae",
                "industries": ["urn:li:industry:43"],
                "staffCountRange": "SIZE_51_TO_200",
                "locations": [{"address": {"city": "Abu Dhabi", "country": "AE"}}],
            },
        },
        {
            "id": 1002,
            "name": "Sharjah Builders",
            "website": "sharjahbuilders.ae",
            "industry": "construction",
            "staffCount": 80,
            "url": "https://www.linkedin.com/company/sharjah-builders",
            "headquarter": {"city": "Sharjah", "geographicArea": "Sharjah", "country": "AE"},
            "updates": [
                {"id": "u-1", "type": "hiring", "text": "We are hiring 30 engineers in Sharjah", "date": "2026-11-01"},
                {"text": "Proud to open our new office"},
            ],
        },
        {"name": "No id at all"},
    ],
}
