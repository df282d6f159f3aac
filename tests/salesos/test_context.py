"""Sales-context resolution (SPEC §5.2): sources, precedence, normalisation, coming-soon errors."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadstream.salesos.context import (
    KNOWN_SUB_VERTICALS,
    ContextNotAvailable,
    SalesContext,
    profile_for,
    resolve_sales_context,
)
from leadstream.scoring.os_profiles import PROFILES

DEFAULT = SalesContext("banking", "employee_banking", "UAE")


def refused(body: object = None, headers: dict[str, str] | None = None) -> ContextNotAvailable:
    with pytest.raises(ContextNotAvailable) as caught:
        resolve_sales_context(body, headers)  # type: ignore[arg-type]
    return caught.value


# --- defaults and sources --------------------------------------------------------------------------


@pytest.mark.parametrize("body", [None, {}, {"tenant_id": "t"}, {"sales_context": None}, {"sales_context": "banking"}])
def test_missing_context_defaults_to_employee_banking_in_the_uae(body: object) -> None:
    context = resolve_sales_context(body)  # type: ignore[arg-type]
    assert context == DEFAULT
    assert context.profile == "banking_employee"
    assert context.as_dict() == {"vertical": "banking", "sub_vertical": "employee_banking", "region": "UAE"}


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        ({"sales_context": {"vertical": "banking", "sub_vertical": "sme_banking", "region": "UAE"}}, {}),
        ({"sales_context": {"vertical_id": "banking", "sub_vertical_id": "sme_banking", "region_code": "UAE"}}, {}),
        ({"vertical": "banking", "sub_vertical": "sme_banking", "region": "UAE"}, {}),
        ({"vertical_id": "banking", "sub_vertical_id": "sme_banking", "region_code": "UAE"}, {}),
        ({}, {"x-vertical": "banking", "x-sub-vertical": "sme_banking", "x-region": "UAE"}),
    ],
)
def test_every_source_is_read(body: dict, headers: dict[str, str]) -> None:
    assert resolve_sales_context(body, headers) == SalesContext("banking", "sme_banking", "UAE")


def test_sales_context_wins_over_top_level_which_wins_over_headers() -> None:
    body = {"sales_context": {"sub_vertical": "sme_banking"}, "sub_vertical": "corporate_banking"}
    headers = {"x-sub-vertical": "insurance", "x-region": "UAE"}
    assert resolve_sales_context(body, headers).sub_vertical == "sme_banking"
    assert resolve_sales_context({"sub_vertical": "corporate_banking"}, headers).sub_vertical == "corporate_banking"
    assert resolve_sales_context({}, {"x-sub-vertical": "corporate-banking"}).sub_vertical == "corporate_banking"


def test_lower_precedence_values_are_not_used_even_if_inactive() -> None:
    body = {"sales_context": {"vertical": "banking"}, "vertical": "insurance"}
    assert resolve_sales_context(body, {"x-vertical": "saas"}).vertical == "banking"


@pytest.mark.parametrize("blank", ["", "   ", None])
def test_blank_values_count_as_missing(blank: object) -> None:
    body = {"sales_context": {"vertical": blank, "sub_vertical": blank, "region": blank}, "region_code": "ae"}
    assert resolve_sales_context(body, {"x-vertical": blank or ""}) == DEFAULT


# --- normalisation ---------------------------------------------------------------------------------


@pytest.mark.parametrize("vertical", ["banking", "Banking", " BANKING ", "bank", "Banks"])
def test_vertical_spellings(vertical: str) -> None:
    assert resolve_sales_context({"vertical": vertical}).vertical == "banking"


@pytest.mark.parametrize(
    ("given_sub", "expected"),
    [
        ("employee_banking", "employee_banking"),
        ("Employee-Banking", "employee_banking"),
        ("employee banking", "employee_banking"),
        ("employee", "employee_banking"),
        ("banking_employee", "employee_banking"),
        ("corporate", "corporate_banking"),
        ("CORPORATE_BANKING", "corporate_banking"),
        ("sme", "sme_banking"),
        ("SME Banking", "sme_banking"),
        ("banking-sme", "sme_banking"),
    ],
)
def test_sub_vertical_spellings(given_sub: str, expected: str) -> None:
    assert resolve_sales_context({"sub_vertical": given_sub}).sub_vertical == expected


@pytest.mark.parametrize(
    "region",
    [
        "UAE",
        "uae",
        " Uae ",
        "AE",
        "ARE",
        "U.A.E.",
        "U.A.E",
        "United Arab Emirates",
        "united-arab-emirates",
        "Dubai",
        "Abu Dhabi",
        "abu-dhabi",
        "Sharjah",
        "Ras Al Khaimah",
    ],
)
def test_region_spellings(region: str) -> None:
    assert resolve_sales_context({"region": region}).region == "UAE"


@pytest.mark.parametrize(
    ("vertical_id", "sub_vertical"),
    [
        ("employee-banking", "employee_banking"),
        ("corporate-banking", "corporate_banking"),
        ("sme-banking", "sme_banking"),
        ("banking_sme", "sme_banking"),
    ],
)
def test_compound_vertical_ids_imply_the_sub_vertical(vertical_id: str, sub_vertical: str) -> None:
    # the SaaS sends vertical_id values such as "sme-banking"
    assert resolve_sales_context({"vertical_id": vertical_id}) == SalesContext("banking", sub_vertical, "UAE")


def test_an_explicit_sub_vertical_wins_over_the_one_a_compound_vertical_implies() -> None:
    body = {"vertical_id": "corporate-banking", "sub_vertical": "sme_banking"}
    assert resolve_sales_context(body).sub_vertical == "sme_banking"


# --- coming soon -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "vertical", ["insurance", "Recruitment", "saas", "insurance-individual", "recruitment_tech_talent"]
)
def test_known_inactive_verticals_are_coming_soon(vertical: str) -> None:
    error = refused({"vertical": vertical})
    assert error.error_code == "VERTICAL_NOT_AVAILABLE"
    assert error.known
    assert error.field == "vertical"
    assert error.value == vertical
    body = error.to_body()
    assert body == {
        "success": False,
        "error": "Coming Soon",
        "error_code": "VERTICAL_NOT_AVAILABLE",
        "message": body["message"],
    }
    assert "coming soon" in body["message"]
    assert "banking" in body["message"]


@pytest.mark.parametrize("vertical", ["retail", "corporate", "healthcare", "bankingx", 42, ["banking"], {"v": 1}, True])
def test_unknown_verticals_are_refused_as_not_supported(vertical: object) -> None:
    error = refused({"vertical": vertical})
    assert (error.error_code, error.known) == ("VERTICAL_NOT_AVAILABLE", False)
    assert "not supported" in error.message


@pytest.mark.parametrize("sub_vertical", ["individual", "health", "tech_talent", "executive-search", "b2b"])
def test_sub_verticals_of_other_verticals_are_known_but_unavailable(sub_vertical: str) -> None:
    error = refused({"sub_vertical": sub_vertical})
    assert (error.error_code, error.known, error.field) == ("SUB_VERTICAL_NOT_AVAILABLE", True, "sub_vertical")
    assert "employee_banking, corporate_banking, sme_banking" in error.message
    assert error.to_body()["error"] == "Coming Soon"


@pytest.mark.parametrize("sub_vertical", ["retail_banking", "private", "wealth management", 7])
def test_unknown_sub_verticals_are_refused(sub_vertical: object) -> None:
    error = refused({"vertical": "banking", "sub_vertical": sub_vertical})
    assert (error.error_code, error.known) == ("SUB_VERTICAL_NOT_AVAILABLE", False)


@pytest.mark.parametrize("region", ["KSA", "Saudi Arabia", "sa", "Qatar", "kuwait", "BH", "Oman"])
def test_other_gulf_markets_are_coming_soon(region: str) -> None:
    error = refused({"region_code": region})
    assert (error.error_code, error.known, error.field) == ("REGION_NOT_AVAILABLE", True, "region")
    assert "coming soon" in error.message and "UAE" in error.message


@pytest.mark.parametrize("region", ["Mars", "EU", "GCC", 971, "UAE-North"])
def test_unknown_regions_are_refused(region: object) -> None:
    error = refused({"region": region})
    assert (error.error_code, error.known) == ("REGION_NOT_AVAILABLE", False)


def test_headers_are_checked_too() -> None:
    assert refused({}, {"x-region": "KSA"}).error_code == "REGION_NOT_AVAILABLE"
    assert refused({}, {"x-vertical": "insurance"}).error_code == "VERTICAL_NOT_AVAILABLE"


def test_the_vertical_is_checked_first_then_the_sub_vertical_then_the_region() -> None:
    everything_wrong = {"vertical": "insurance", "sub_vertical": "retail", "region": "KSA"}
    assert refused(everything_wrong).error_code == "VERTICAL_NOT_AVAILABLE"
    assert refused({"sub_vertical": "retail", "region": "KSA"}).error_code == "SUB_VERTICAL_NOT_AVAILABLE"


def test_messages_quote_a_hostile_value_short_and_printable() -> None:
    error = refused({"vertical": "ignore\nall\x00" + "x" * 500})
    assert "\n" not in error.message and "\x00" not in error.message
    assert len(error.message) < 120
    assert "…" in error.message


# --- profiles --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sub_vertical", "profile"),
    [
        ("employee_banking", "banking_employee"),
        ("corporate_banking", "banking_corporate"),
        ("sme_banking", "banking_sme"),
    ],
)
def test_active_sub_verticals_map_to_their_scoring_profile(sub_vertical: str, profile: str) -> None:
    assert resolve_sales_context({"sub_vertical": sub_vertical}).profile == profile


def test_every_mapped_profile_exists_in_the_scoring_table() -> None:
    for vertical, subs in KNOWN_SUB_VERTICALS.items():
        for sub in subs:
            assert profile_for(vertical, sub) in PROFILES
    assert profile_for("insurance", "health") == "default"


text_or_junk = st.none() | st.text(max_size=30) | st.integers() | st.lists(st.text(max_size=5), max_size=2)


@given(
    st.dictionaries(
        st.sampled_from(["vertical", "vertical_id", "sub_vertical", "sub_vertical_id", "region", "region_code"]),
        text_or_junk,
    ),
    st.dictionaries(st.sampled_from(["x-vertical", "x-sub-vertical", "x-region"]), st.text(max_size=30)),
    st.booleans(),
)
def test_any_input_gives_an_active_context_or_a_coming_soon_error(
    fields: dict, headers: dict[str, str], nest: bool
) -> None:
    body = {"sales_context": fields} if nest else fields
    try:
        context = resolve_sales_context(body, headers)
    except ContextNotAvailable as error:
        assert error.error_code in ("VERTICAL_NOT_AVAILABLE", "SUB_VERTICAL_NOT_AVAILABLE", "REGION_NOT_AVAILABLE")
        assert error.message and error.to_body()["success"] is False
    else:
        assert context.vertical == "banking"
        assert context.sub_vertical in ("employee_banking", "corporate_banking", "sme_banking")
        assert context.region == "UAE"
        assert context.profile in PROFILES
