"""``/enrich``'s sources: what leadstream knows, what configured providers found, the classifier last."""

from __future__ import annotations

import pytest

from leadstream.salesos.enrich_lookup import (
    CLASSIFIER,
    KEYWORD_CONFIDENCE,
    LOADED,
    LOADED_CONFIDENCE,
    TLD_CONFIDENCE,
    choose_industry,
    classify,
    enriched_entity,
    looks_like_domain,
    normalise_industry,
    provider_hit,
)

BANKING = "Banking & Financial Services"


@pytest.mark.parametrize(
    ("domain", "expected"),
    [
        ("acme-bank.co.ae", (BANKING, KEYWORD_CONFIDENCE)),
        ("gulfinsurance.ae", ("Insurance", KEYWORD_CONFIDENCE)),
        ("moe.gov.ae", ("Government", TLD_CONFIDENCE)),
        ("uaeu.ac.ae", ("Education", TLD_CONFIDENCE)),
        ("anything.bank", (BANKING, TLD_CONFIDENCE)),
        ("dubaihealth.ae", ("Healthcare", KEYWORD_CONFIDENCE)),
        ("emiratesnbd.com", None),  # nothing in the name says it: unknown, not a guess
        ("foil.com", None),  # "oil" is not a keyword: too short to mean anything inside a word
    ],
)
def test_classifier(domain: str, expected: tuple[str, int] | None) -> None:
    assert classify(domain) == expected


def test_classifier_reads_a_known_name_when_the_domain_says_nothing() -> None:
    assert classify("enbd.com", "Emirates NBD Bank") == (BANKING, KEYWORD_CONFIDENCE)


@pytest.mark.parametrize(
    ("text", "canonical"),
    [("banking", BANKING), ("Financial Services", BANKING), ("retail", "Retail & E-commerce"), ("widgets", "Widgets")],
)
def test_industries_are_read_through_one_table(text: str, canonical: str) -> None:
    assert normalise_industry(text) == canonical
    assert normalise_industry("  ") is None and normalise_industry(7) is None


def test_a_loaded_company_is_the_surest_source_and_the_sums_decide() -> None:
    entity = enriched_entity(
        "c-1",
        {"company_id": "c-1", "name": "Acme", "domain": "acme-bank.ae", "industry": "retail"},
        3,
        {"apollo": {"industry": "Banking", "name": "Acme"}},
    )
    assert entity["sources"] == [
        {"name": LOADED, "industry": "Retail & E-commerce", "confidence": LOADED_CONFIDENCE},
        {"name": "apollo", "industry": BANKING, "confidence": 85},
        {"name": CLASSIFIER, "industry": BANKING, "confidence": KEYWORD_CONFIDENCE},
    ]
    assert entity["industry"] == BANKING  # 85 + 30 > 95
    assert entity["known"] is True and entity["signals"] == 3 and entity["domain"] == "acme-bank.ae"


def test_unknown_stays_unknown_and_no_source_is_invented() -> None:
    entity = enriched_entity("emiratesnbd.com", None, 0, {})
    assert entity["industry"] is None and entity["sources"] == []
    assert entity["domain"] == "emiratesnbd.com" and entity["known"] is False


def test_a_provider_answer_counts_only_for_that_very_domain() -> None:
    found = {"companies": [{"domain": "other.ae", "industry": "Banking"}, {"domain": "www.acme.ae", "industry": "x"}]}
    assert provider_hit(found, "acme.ae") == {"domain": "www.acme.ae", "industry": "x"}
    assert provider_hit(found, "nope.ae") is None


def test_ties_go_to_the_surest_single_source() -> None:
    sources = [
        {"name": "a", "industry": "X", "confidence": 50},
        {"name": "b", "industry": "Y", "confidence": 30},
        {"name": "c", "industry": "Y", "confidence": 20},
    ]
    assert choose_industry(sources) == "X"
    assert choose_industry([]) is None


def test_what_looks_like_a_domain() -> None:
    assert looks_like_domain("acme.ae") and looks_like_domain("https://www.acme.ae/x")
    assert not looks_like_domain("c-1") and not looks_like_domain("a b.ae") and not looks_like_domain("me@acme.ae")
