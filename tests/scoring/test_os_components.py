"""The Q / T / L / E / composite rules of SPEC §3.5, one rule at a time."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest

from leadstream.scoring.os_components import composite_score, e_score, l_score, q_score, round_half_up, t_score
from leadstream.scoring.os_entity import has_region_presence, is_present
from leadstream.scoring.os_profiles import PROFILE_WEIGHTS, PROFILES, UnknownProfile, profile_weights, resolve_profile

NOW = datetime(2025, 12, 13, 12, 0, tzinfo=UTC)
RECENT = (NOW - timedelta(days=3)).isoformat()
OLD = (NOW - timedelta(days=90)).isoformat()


# --- rounding -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        (16.5, 17),
        (16.4999, 16),
        (2.5, 3),  # Python's round() gives 2
        (0.5, 1),
        (3.5, 4),
        (2.675, 3),
        (-2.5, -3),  # halves away from zero
        (7, 7),
        (Fraction(33, 2), 17),
        (Fraction(-33, 2), -17),
        (Fraction(27, 2), 14),
        (Decimal("16.5"), 17),
        (Decimal("16.49"), 16),
    ],
)
def test_round_half_up(number: object, expected: int) -> None:
    assert round_half_up(number) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("number", [float("nan"), float("inf")])
def test_round_half_up_rejects_non_finite(number: float) -> None:
    with pytest.raises(ValueError):
        round_half_up(number)


# --- Q --------------------------------------------------------------------------------------------


def q(entity: dict | None = None, signals: list | None = None, region: str = "UAE") -> dict[str, int]:
    return q_score(entity or {}, signals or [], NOW, region).breakdown


@pytest.mark.parametrize("field", ["domain", "website_url", "website"])
def test_q_domain_aliases(field: str) -> None:
    assert q({field: "acme.ae"})["domain"] == 25


@pytest.mark.parametrize("value", [None, "", "   ", [], False])
def test_q_domain_blank_is_absent(value: object) -> None:
    assert q({"domain": value})["domain"] == 0


@pytest.mark.parametrize("field", ["linkedin_url", "linkedin_profile", "linkedin"])
def test_q_linkedin_aliases(field: str) -> None:
    assert q({field: "https://linkedin.com/company/acme"})["linkedin"] == 20


@pytest.mark.parametrize(
    "signal",
    [
        {"type": "hiring"},
        {"type": "Expansion"},
        {"type": "FUNDING_round"},
        {"type": "revenue growth"},
        {"signal_type": "hiring"},
        {"type": "news", "tags": ["Growth"]},
        {"type": "news", "tags": ["market", "expansion-plan"]},
    ],
)
def test_q_growth_signal_by_type_or_tags(signal: dict) -> None:
    assert q(signals=[signal])["signals"] == 20


@pytest.mark.parametrize(
    "signal",
    [{"type": "news"}, {"type": "news", "title": "Hiring 40 people"}, {"type": "news", "evidence": "funding"}, {}],
)
def test_q_growth_needs_type_or_tags(signal: dict) -> None:
    assert q(signals=[signal])["signals"] == 0


@pytest.mark.parametrize(
    "entity",
    [
        {"uae_presence": True},
        {"uae_presence": "yes"},
        {"uae_presence": 1},
        {"uae_locations": ["Dubai"]},
        {"location": "Dubai"},
        {"location": "Office in Abu Dhabi"},
        {"location": "abu-dhabi"},
        {"location": "Sharjah"},
        {"location": "United Arab Emirates"},
        {"location": "U.A.E."},
        {"location": "UAE"},
        {"locations": ["London", "Dubai Marina"]},
        {"location": {"city": "Dubai", "country": "United Arab Emirates"}},
        {"headquarters": "DIFC, Dubai"},
        {"hq_location": "Abu Dhabi"},
        {"city": "Sharjah"},
        {"country": "AE"},
        {"country": "are"},
    ],
)
def test_q_region_presence(entity: dict) -> None:
    assert q(entity)["uae_presence"] == 25


@pytest.mark.parametrize(
    "entity",
    [
        {},
        {"uae_presence": False},
        {"uae_presence": "false"},
        {"uae_presence": "no"},
        {"uae_presence": 0},
        {"uae_locations": []},
        {"location": "Riyadh, Saudi Arabia"},
        {"location": "Dubaiville, Texas"},  # whole words only
        {"locations": "Doha"},
        {"country": "GB"},
        {"name": "Dubai Holdings"},  # the name is not a location
    ],
)
def test_q_no_region_presence(entity: dict) -> None:
    assert q(entity)["uae_presence"] == 0


def test_q_region_is_case_insensitive_and_other_regions_use_their_own_name() -> None:
    assert has_region_presence({"location": "Dubai"}, "uae")
    assert not has_region_presence({"location": "Dubai"}, "KSA")
    assert has_region_presence({"ksa_presence": True}, "KSA")
    assert has_region_presence({"location": "Riyadh, KSA"}, "ksa")


@pytest.mark.parametrize(
    ("signals", "recency"),
    [
        ([], 0),
        ([{"type": "x"}], 10),  # undated
        ([{"type": "x", "date": OLD}], 10),
        ([{"type": "x", "date": RECENT}], 15),
        ([{"type": "x", "published_at": RECENT}], 15),
        ([{"type": "x", "created_at": RECENT}], 15),  # the reference ignored created_at here; the spec does not
        ([{"type": "x", "date": "not a date"}, {"type": "y", "date": OLD}], 10),
    ],
)
def test_q_recency(signals: list, recency: int) -> None:
    assert q(signals=signals)["recency"] == recency


def test_q_caps_at_100_but_breakdown_keeps_raw_parts() -> None:
    entity = {"domain": "a.ae", "linkedin_url": "l", "uae_presence": True}
    s = q_score(entity, [{"type": "hiring", "date": RECENT}], NOW)
    assert s.breakdown == {"domain": 25, "linkedin": 20, "signals": 20, "uae_presence": 25, "recency": 15}
    assert sum(s.breakdown.values()) == 105
    assert s.value == 100


def test_q_value_is_sum_below_cap() -> None:
    assert q_score({"domain": "a.ae"}, [{"type": "news"}], NOW).value == 35


# --- T --------------------------------------------------------------------------------------------


def signals(n: int, **fields: object) -> list[dict]:
    return [{"type": "news", **fields} for _ in range(n)]


@pytest.mark.parametrize(("recent", "points"), [(0, 10), (1, 25), (2, 25), (3, 40), (5, 40)])
def test_t_recency(recent: int, points: int) -> None:
    s = t_score(signals(recent, date=RECENT) + signals(2, date=OLD) + signals(1), NOW)
    assert s.breakdown["recency"] == points
    assert s.facts["recent_count"] == recent


@pytest.mark.parametrize(("strong", "points"), [(0, 10), (1, 20), (2, 30), (4, 30)])
def test_t_signal_strength(strong: int, points: int) -> None:
    weak = [{"confidence": 0.69}, {"confidence": None}, {}, {"confidence": "bad"}]
    s = t_score(signals(strong, confidence=0.9) + weak, NOW)
    assert s.breakdown["signal_strength"] == points


@pytest.mark.parametrize(
    ("confidence", "strong"), [(0.7, True), ("0.7", True), (1, True), (0.69, False), (0.6999, False), (None, False)]
)
def test_t_strength_threshold_is_inclusive(confidence: object, strong: bool) -> None:
    assert t_score([{"confidence": confidence}], NOW).facts["strong_count"] == int(strong)


def test_t_market_timing_and_range() -> None:
    low = t_score([], NOW)
    assert low.breakdown == {"recency": 10, "signal_strength": 10, "market_timing": 20}
    assert low.value == 40
    high = t_score(signals(3, date=RECENT, confidence=0.8), NOW)
    assert high.breakdown == {"recency": 40, "signal_strength": 30, "market_timing": 20}
    assert high.value == 90


# --- L --------------------------------------------------------------------------------------------


def lb(entity: dict | None = None, sigs: list | None = None, profile: str = "default") -> dict[str, int]:
    return l_score(entity or {}, sigs or [], profile).breakdown


@pytest.mark.parametrize("field", ["industry", "sector"])
def test_l_industry(field: str) -> None:
    assert lb({field: "Banking"})["company_fit"] == 15


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("size_range", "51-200"),
        ("size", "large"),
        ("company_size", "201-500"),
        ("employee_count", 250),
        ("employees", 12),
        ("headcount", 3000),
    ],
)
def test_l_size_aliases(field: str, value: object) -> None:
    assert lb({field: value})["company_fit"] == 15


@pytest.mark.parametrize("value", [0, -5, "", None, float("nan")])
def test_l_size_absent(value: object) -> None:
    assert lb({"employee_count": value})["company_fit"] == 0


def test_l_company_fit_and_engagement() -> None:
    assert lb({"industry": "Banking", "size_range": "51-200"})["company_fit"] == 30
    assert lb({"linkedin_url": "x"})["engagement_potential"] == 15
    assert lb({"website": "x.ae"})["engagement_potential"] == 10
    assert lb({"linkedin_profile": "x", "domain": "x.ae"})["engagement_potential"] == 25


@pytest.mark.parametrize(
    ("sigs", "points"),
    [
        ([], 0),
        ([{"type": "funding"}], 15),
        ([{}], 15),
        ([{"type": "hiring"}], 25),  # SaaS spelling counts (the reference only read signal_type)
        ([{"signal_type": "Hiring surge"}], 25),
        ([{"type": "news", "title": "Acme is HIRING 40 bankers"}], 25),
        ([{"type": "news", "tags": ["hiring"]}], 15),  # tags are not type or title
        ([{"type": "news"}, {"type": "job_hiring"}], 25),
    ],
)
def test_l_timing_alignment(sigs: list, points: int) -> None:
    assert lb(sigs=sigs)["timing_alignment"] == points


@pytest.mark.parametrize("profile", PROFILES)
def test_l_profile_match(profile: str) -> None:
    assert lb(profile=profile)["profile_match"] == (10 if profile == "default" else 20)


def test_l_unknown_profile_raises() -> None:
    with pytest.raises(UnknownProfile):
        l_score({}, [], "insurance")


def test_l_maximum_is_100() -> None:
    entity = {"industry": "b", "size": "s", "linkedin_url": "l", "domain": "d"}
    s = l_score(entity, [{"type": "hiring"}], "banking_sme")
    assert s.breakdown == {"company_fit": 30, "engagement_potential": 25, "timing_alignment": 25, "profile_match": 20}
    assert s.value == 100


# --- E --------------------------------------------------------------------------------------------


def test_e_no_signals_is_20() -> None:
    s = e_score([])
    assert s.value == 20
    assert s.breakdown == {"signal_count": 0, "avg_confidence": 0, "source_diversity": 0}
    assert e_score(None).value == 20


@pytest.mark.parametrize(("n", "points"), [(1, 10), (2, 20), (3, 30), (4, 40), (7, 40)])
def test_e_signal_count(n: int, points: int) -> None:
    assert e_score(signals(n, source="s", confidence=1)).breakdown["signal_count"] == points


@pytest.mark.parametrize(
    ("confidences", "points"),
    [
        ([1.0], 30),
        ([0.0], 0),  # an explicit 0 is a confidence of 0 (the reference treated it as missing)
        ([None], 15),  # missing counts 0.5
        (["garbage"], 15),  # invalid counts as missing
        ([1.5], 15),  # out of range counts as missing
        ([0.55], 17),  # 16.5 rounds half up
        ([0.05], 2),  # 1.5 -> 2
        ([0.06, 0.84], 14),  # exactly 13.5; in floats 13.4999... would round down
        ([1.0, None], 23),  # mean 0.75 -> 22.5 -> 23
        ([0.9, 0.8, None], 22),  # mean 0.7333 -> 22.0
    ],
)
def test_e_avg_confidence(confidences: list, points: int) -> None:
    sigs = [{"source": "s"} if c is None else {"source": "s", "confidence": c} for c in confidences]
    assert e_score(sigs).breakdown["avg_confidence"] == points


def test_e_missing_confidence_key_counts_half() -> None:
    s = e_score([{"type": "x"}])
    assert s.breakdown["avg_confidence"] == 15
    assert s.facts["missing_confidence"] == 1


@pytest.mark.parametrize(
    ("sources", "points"),
    [
        (["a"], 10),
        (["a", "a"], 10),
        (["LinkedIn", "linkedin ", "LINKEDIN"], 10),  # same source, different spelling
        (["a", "b"], 20),
        (["a", None], 20),  # a missing source is one more distinct source
        ([None, None], 10),
        (["a", "b", "c"], 30),
        (["a", "b", "c", "d"], 30),
    ],
)
def test_e_source_diversity(sources: list, points: int) -> None:
    sigs = [{"type": "x"} if src is None else {"type": "x", "source": src} for src in sources]
    assert e_score(sigs).breakdown["source_diversity"] == points


def test_e_value_is_sum() -> None:
    s = e_score([{"source": "a", "confidence": 0.9}, {"source": "b", "confidence": 0.8}, {"source": "c"}])
    assert s.breakdown == {"signal_count": 30, "avg_confidence": 22, "source_diversity": 30}
    assert s.value == 82
    assert e_score(signals(4, source="x", confidence=1) + signals(1, source="y") + [{"source": "z"}]).value <= 100


# --- profiles and composite -----------------------------------------------------------------------

SPEC_WEIGHTS = {
    "default": (30, 25, 25, 20),
    "banking_employee": (25, 30, 25, 20),
    "banking_corporate": (35, 20, 25, 20),
    "banking_sme": (30, 30, 25, 15),
    "insurance_individual": (20, 35, 30, 15),
    "recruitment_hiring": (20, 40, 20, 20),
    "saas_b2b": (30, 25, 30, 15),
}


def test_profile_table_matches_spec() -> None:
    assert set(PROFILES) == set(SPEC_WEIGHTS)
    for profile, (qw, tw, lw, ew) in SPEC_WEIGHTS.items():
        assert profile_weights(profile) == {"q_score": qw, "t_score": tw, "l_score": lw, "e_score": ew}
        assert sum(PROFILE_WEIGHTS[profile].values()) == 100


@pytest.mark.parametrize("profile", list(SPEC_WEIGHTS))
def test_composite_uses_each_profiles_weights(profile: str) -> None:
    qw, tw, lw, ew = SPEC_WEIGHTS[profile]
    assert composite_score(100, 0, 0, 0, profile).value == qw
    assert composite_score(0, 100, 0, 0, profile).value == tw
    assert composite_score(0, 0, 100, 0, profile).value == lw
    assert composite_score(0, 0, 0, 100, profile).value == ew
    assert composite_score(100, 100, 100, 100, profile).value == 100
    assert composite_score(80, 60, 40, 20, profile).value == round_half_up(
        Fraction(80 * qw + 60 * tw + 40 * lw + 20 * ew, 100)
    )


def test_composite_worked_examples() -> None:
    # default: 85*.30 + 72*.25 + 68*.25 + 90*.20 = 25.5 + 18 + 17 + 18 = 78.5 -> 79
    c = composite_score(85, 72, 68, 90, "default")
    assert c.value == 79
    assert c.breakdown == {"q_score": 25.5, "t_score": 18.0, "l_score": 17.0, "e_score": 18.0}
    assert c.weights == {"q_score": 30, "t_score": 25, "l_score": 25, "e_score": 20}


def test_composite_rounds_half_up() -> None:
    # 0 + 40*.25 + 10*.25 + 20*.20 = 16.5 -> 17 (banker's rounding would give 16)
    assert composite_score(0, 40, 10, 20, "default").value == 17
    # 90*.35 = 31.5 exactly; in floats 90*0.35 is 31.499999999999996
    assert composite_score(90, 0, 0, 0, "banking_corporate").value == 32
    assert composite_score(0, 0, 0, 0, "default").value == 0


@pytest.mark.parametrize("profile", ["banking", "unknown", "", "   "])
def test_composite_profile_resolution(profile: str) -> None:
    if profile.strip():
        with pytest.raises(UnknownProfile) as err:
            composite_score(1, 1, 1, 1, profile)
        assert err.value.profile == profile
        assert isinstance(err.value, ValueError)
    else:
        assert composite_score(1, 1, 1, 1, profile).profile == "default"


def test_resolve_profile() -> None:
    assert resolve_profile(None) == "default"
    assert resolve_profile(" Banking_Employee ") == "banking_employee"
    with pytest.raises(UnknownProfile):
        resolve_profile(5)  # type: ignore[arg-type]


def test_is_present() -> None:
    assert [is_present(v) for v in ("x", " ", 1, 0, 2.5, True, False, None, [], [""], {"a": "b"}, {"a": ""})] == [
        True,
        False,
        True,
        False,
        True,
        True,
        False,
        False,
        False,
        False,
        True,
        False,
    ]
