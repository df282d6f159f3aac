"""Outreach templates (SPEC §5.3, §5.4): contract item shapes, natural text for any lead, every option."""

import itertools
import re
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadstream.salesos.outreach import (
    CHANNELS,
    LINKEDIN_MAX_CHARS,
    PERSONALIZATION_LEVELS,
    TONES,
    OutreachOptionError,
    _next_quarter,
    lead_facts,
    outreach_item,
    render_outreach,
    score_band,
)
from leadstream.scoring.os_profiles import PROFILES, UnknownProfile
from leadstream_client.fallbacks import fallback_outreach_item

AHMED = {
    "id": "lead-1",
    "name": "Ahmed Al Mansouri",
    "designation": "Head of HR",
    "company": "Acme Holdings",
    "industry": "Construction",
    "email": "ahmed@acme.example",
    "linkedin": "https://www.linkedin.com/in/ahmed",
}
NOW = datetime(2025, 12, 13, 9, 30, tzinfo=UTC)
LONG = {"name": "Sheikha " + "Mariam" * 10, "company": "C" * 300, "designation": "D" * 300, "industry": "I" * 300}
EMPTY_LEADS = [{}, {"name": None, "company": None}, {"name": "None", "company": "null", "designation": "N/A"}]
BROKEN = re.compile(r"\bNone\b|\bnull\b|\{|\}|\s,|\s\.(?!\.)|\.\.(?!\.)|  ")
CONTRACTIONS = re.compile(
    r"\b(?:I'm|I'd|I'll|I've|it's|that's|isn't|you're|you'll|we're|we've|don't|can't|let's)\b", re.I
)


def render(lead: dict = AHMED, **options: object) -> dict[str, str]:
    return render_outreach(lead, **options)  # type: ignore[arg-type]


def every_option() -> itertools.product:
    return itertools.product(PROFILES, CHANNELS, TONES, PERSONALIZATION_LEVELS)


# --- natural text in every combination -------------------------------------------------------------


@pytest.mark.parametrize("lead", [AHMED, LONG, *EMPTY_LEADS], ids=["full", "long", "empty", "nones", "placeholders"])
def test_every_combination_gives_natural_text(lead: dict) -> None:
    for profile, channel, tone, level in every_option():
        for score in (None, {"total": {"score": 79, "band": "HOT"}}):
            message = render(
                lead, profile=profile, channel=channel, tone=tone, personalization=level, score=score, now=NOW
            )
            assert set(message) == {"subject", "body"}
            assert message["subject"].strip() and message["body"].strip()
            for text in message.values():
                assert not BROKEN.search(text), (profile, channel, tone, level, text)


def test_missing_fields_read_naturally() -> None:
    email = render({}, tone="friendly")
    assert email["body"].startswith("Hi there,\n\n")
    assert render({}, tone="formal")["body"].startswith("Hello,\n\n")
    assert render({"company": "Acme"}, tone="formal")["body"].startswith("Dear Acme team,\n\n")
    assert render({}, channel="call", tone="formal")["body"].startswith("Opening: Good day, this is [your name]")
    assert render({}, channel="call")["subject"] == "Call script"


@pytest.mark.parametrize("lead", [AHMED, LONG, {}])
def test_linkedin_messages_fit_300_characters(lead: dict) -> None:
    for profile, tone, level in itertools.product(PROFILES, TONES, PERSONALIZATION_LEVELS):
        for score in (None, 10, 90):
            body = render(
                lead, profile=profile, channel="linkedin", tone=tone, personalization=level, score=score, now=NOW
            )["body"]
            assert len(body) <= LINKEDIN_MAX_CHARS
            assert not body.endswith("…"), "dropping optional sentences should always be enough"


def test_formal_tone_has_no_contractions() -> None:
    for profile, channel, level in itertools.product(PROFILES, CHANNELS, PERSONALIZATION_LEVELS):
        for score in (None, 10, 55, 65, 90):
            message = render(
                profile=profile, channel=channel, tone="formal", personalization=level, score=score, now=NOW
            )
            if channel != "call":  # the caller's own labels are not the lead-facing wording
                assert not CONTRACTIONS.search(message["body"]), message["body"]


def test_tones_differ() -> None:
    bodies = {tone: render(tone=tone)["body"] for tone in TONES}
    assert bodies["formal"].startswith("Dear Ahmed,")
    assert bodies["friendly"].startswith("Hi Ahmed,")
    assert bodies["direct"].startswith("Ahmed,")
    assert len(set(bodies.values())) == 3
    assert len(bodies["direct"]) < len(bodies["friendly"])


# --- personalization -------------------------------------------------------------------------------


def test_low_personalization_names_only_the_person() -> None:
    body = render(personalization="low")["body"]
    assert "Ahmed" in body
    for detail in ("Acme Holdings", "Head of HR", "Construction"):
        assert detail not in body


def test_medium_personalization_adds_company_and_designation() -> None:
    body = render(personalization="medium", now=NOW)["body"]
    assert "Acme Holdings" in body and "Head of HR" in body
    assert "Construction" not in body and "Q1 2026" not in body


def test_high_personalization_adds_industry_and_the_coming_quarter() -> None:
    body = render(personalization="high", now=NOW)["body"]
    for detail in ("Ahmed", "Acme Holdings", "Head of HR", "Construction", "Q1 2026"):
        assert detail in body
    assert "Q1" not in render(personalization="high")["body"]  # no clock, no quarter


def test_call_script_context_line_follows_personalization() -> None:
    assert "Context:" not in render(channel="call", personalization="low")["body"]
    assert "Context: Head of HR at Acme Holdings." in render(channel="call", personalization="medium")["body"]
    high = render(channel="call", personalization="high")["body"]
    assert "Context: Head of HR at Acme Holdings, Construction sector." in high


@pytest.mark.parametrize(
    ("now", "quarter"),
    [(datetime(2025, 12, 31), "Q1 2026"), (datetime(2026, 1, 1), "Q2 2026"), (datetime(2026, 9, 30), "Q4 2026")],
)
def test_next_quarter(now: datetime, quarter: str) -> None:
    assert _next_quarter(now) == quarter


# --- profiles --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("profile", "subject", "phrase"),
    [
        ("banking_employee", "Making payday simpler at Acme Holdings", "salary accounts"),
        ("banking_corporate", "An idea for the Acme Holdings finance team", "trade finance"),
        ("banking_sme", "Banking that keeps up with Acme Holdings", "working capital"),
        ("insurance_individual", "A quick question for you, Ahmed", "health and income protection"),
        ("recruitment_hiring", "Acme Holdings and your next hires", "hiring signals"),
        ("saas_b2b", "An idea for the Acme Holdings team", "manual work"),
        ("default", "An idea for Ahmed at Acme Holdings", "buying signals"),
    ],
)
def test_each_profile_has_its_own_pitch(profile: str, subject: str, phrase: str) -> None:
    message = render(profile=profile)
    assert message["subject"] == subject
    assert phrase in message["body"]


def test_employee_banking_pitches_payroll_not_recruiting() -> None:
    body = render(profile="banking_employee")["body"].casefold()
    assert "payroll" in body
    assert "talent" not in body and "time-to-hire" not in body


@pytest.mark.parametrize("profile", [None, "", "DEFAULT", " saas_b2b "])
def test_profile_names_are_lenient_about_case_and_blank(profile: str | None) -> None:
    assert render(profile=profile)["body"]


def test_unknown_profile_is_refused() -> None:
    with pytest.raises(UnknownProfile):
        render(profile="crypto")


# --- channels and options --------------------------------------------------------------------------


def test_email_shape() -> None:
    message = render(channel="email", tone="friendly")
    paragraphs = message["body"].split("\n\n")
    assert paragraphs[0] == "Hi Ahmed,"
    assert paragraphs[-1] == "Best wishes"
    assert message["subject"] == "An idea for Ahmed at Acme Holdings"


def test_call_script_shape() -> None:
    message = render(channel="call", profile="banking_corporate", score={"total": {"band": "WARM"}})
    assert message["subject"] == "Call script: Ahmed at Acme Holdings"
    labels = [line.split(":", 1)[0] for line in message["body"].splitlines()]
    assert labels == [
        "Opening",
        "Reason for calling",
        "Context",
        "Lead band",
        "Value",
        "Question",
        "Next step",
        "If it is a bad time",
    ]
    assert "[your name]" in message["body"] and "[your bank]" in message["body"]
    assert "Lead band: WARM" in message["body"]


@pytest.mark.parametrize(
    ("channel", "expected"),
    [
        ("email", "email"),
        ("LinkedIn", "linkedin"),
        ("call", "call"),
        ("call_script", "call"),
        ("Call Script", "call"),
        ("phone", "call"),
        (None, "email"),
        ("", "email"),
    ],
)
def test_channel_spellings(channel: str | None, expected: str) -> None:
    assert outreach_item(AHMED, channel=channel, generated_at=NOW)["channel"] == expected


@pytest.mark.parametrize(
    "options",
    [{"channel": "fax"}, {"channel": 3}, {"tone": "sarcastic"}, {"personalization": "extreme"}, {"tone": ["formal"]}],
)
def test_unknown_options_are_refused(options: dict) -> None:
    with pytest.raises(OutreachOptionError) as caught:
        render(**options)
    assert caught.value.field in ("channel", "tone", "personalization_level")


def test_defaults_are_email_friendly_medium() -> None:
    assert render() == render(channel="email", tone="friendly", personalization="medium", profile="default")
    assert render(tone=None, personalization=None) == render()


# --- score band ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("score", "band"),
    [
        ({"qtle": {}, "total": {"score": 79, "band": "HOT"}, "flags": []}, "HOT"),
        ({"total": {"score": 62}}, "WARM"),
        ({"total": {"band": "cool"}}, "COOL"),
        ({"composite": {"value": 50, "tier": "COOL", "grade": "C"}}, "COOL"),
        ({"scores": {"composite": {"value": 80, "tier": "HOT"}}}, "HOT"),
        ({"band": "DISQUALIFIED"}, "COLD"),
        ({"tier": "WARM"}, "WARM"),
        ({"score": 12}, "COLD"),
        ({"value": 140}, "HOT"),
        (75, "HOT"),
        (74.9, "WARM"),
        ("warm", "WARM"),
        ({"total": {"band": "SUPER"}}, None),
        ({"total": {"score": float("nan")}}, None),
        ({"score": True}, None),
        ({}, None),
        (None, None),
        ([], None),
    ],
)
def test_score_band(score: object, band: str | None) -> None:
    assert score_band(score) == band


def test_band_sets_the_urgency_of_the_call_to_action() -> None:
    ctas = {
        band: render(score={"total": {"band": band}})["body"].split("\n\n")[-2]
        for band in ("HOT", "WARM", "COOL", "COLD")
    }
    assert "this week" in ctas["HOT"]
    assert "couple of weeks" in ctas["WARM"]
    assert "overview" in ctas["COOL"]
    assert "No rush" in ctas["COLD"]
    assert render()["body"].split("\n\n")[-2] == "Would you be open to a quick chat?"


def test_band_is_never_shown_to_the_lead() -> None:
    for channel in ("email", "linkedin"):
        for band in ("HOT", "WARM", "COOL", "COLD"):
            message = render(channel=channel, score={"total": {"band": band}})
            assert band not in message["body"] and band not in message["subject"]


def test_the_leads_own_score_wins_over_the_request_score() -> None:
    lead = {**AHMED, "score": {"total": {"score": 90, "band": "HOT"}}}
    assert render(lead, score={"total": {"band": "COLD"}}) == render(AHMED, score={"total": {"band": "HOT"}})
    assert render({**AHMED, "score": "junk"}, score=90) == render(AHMED, score=90)


# --- lead facts ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lead", "first"),
    [
        ({"name": "Dr. Ahmed Al Mansouri"}, "Ahmed"),
        ({"name": "H.E. Sheikh Mohammed bin Rashid"}, "Mohammed"),
        ({"name": "  fatima   al zahra "}, "Fatima"),
        ({"name": "JOHN SMITH"}, "John"),
        ({"name": "JP Morgan"}, "JP"),
        ({"name": "McKenzie Lee"}, "McKenzie"),
        ({"first_name": "sara", "last_name": "Khan"}, "Sara"),
        ({"full_name": "Omar Haddad"}, "Omar"),
        ({"name": "Mr."}, None),
        ({"name": 42}, None),
        ({"name": "\x00\u202e"}, None),
    ],
)
def test_first_name(lead: dict, first: str | None) -> None:
    assert lead_facts(lead).first == first


def test_lead_facts_from_alternative_fields() -> None:
    facts = lead_facts(
        {
            "lead_id": 7,
            "first_name": "Sara",
            "last_name": "Khan",
            "company_name": "Acme",
            "title": "CFO",
            "sector": "Retail",
        }
    )
    assert (facts.lead_id, facts.full_name, facts.company, facts.designation, facts.industry) == (
        7,
        "Sara Khan",
        "Acme",
        "CFO",
        "Retail",
    )
    assert lead_facts({"id": True}).lead_id is None
    assert lead_facts(["not", "a", "lead"]).full_name is None


def test_lead_values_are_cleaned_and_clipped() -> None:
    facts = lead_facts({"company": "Acme\n\tHold\u200bings\x00 LLC", "designation": "x" * 500})
    assert facts.company == "Acme Holdings LLC"
    assert lead_facts({"name": "\u0645\u06cc\u200c\u0631\u0632\u0627"}).first == "\u0645\u06cc\u200c\u0631\u0632\u0627"
    assert facts.designation is not None and len(facts.designation) == 60


def test_braces_in_lead_data_are_text_not_placeholders() -> None:
    body = render({"name": "Ahmed", "company": "{company} {0} Labs"}, tone="formal")["body"]
    assert "{company} {0} Labs" in body


# --- contract items --------------------------------------------------------------------------------


def test_outreach_item_has_the_contract_shape() -> None:
    item = outreach_item(
        AHMED,
        profile="banking_employee",
        channel="linkedin",
        tone="formal",
        personalization="high",
        score={"total": {"band": "HOT"}},
        generated_at=NOW,
    )
    assert set(item) == {"lead_id", "lead_name", "channel", "message", "generated_at", "ai_generated"}
    assert item["lead_id"] == "lead-1"
    assert item["lead_name"] == "Ahmed Al Mansouri"
    assert item["channel"] == "linkedin"
    assert set(item["message"]) == {"subject", "body"}
    assert item["generated_at"] == "2025-12-13T09:30:00.000Z"
    assert item["ai_generated"] is False


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(2025, 12, 13, 1, 2, 3, 456789), "2025-12-13T01:02:03.456Z"),
        (datetime(2025, 12, 13, 4, 0, tzinfo=timezone(timedelta(hours=4))), "2025-12-13T00:00:00.000Z"),
        ("2025-12-13T00:00:00.000Z", "2025-12-13T00:00:00.000Z"),
    ],
)
def test_generated_at_is_iso_utc_with_milliseconds(moment: datetime | str, text: str) -> None:
    assert outreach_item(AHMED, generated_at=moment)["generated_at"] == text


def test_outreach_item_for_an_anonymous_lead() -> None:
    item = outreach_item({}, generated_at=NOW)
    assert (item["lead_id"], item["lead_name"]) == (None, "")
    assert item["message"]["body"].startswith("Hi there,")


def test_rendering_is_deterministic() -> None:
    assert outreach_item(AHMED, generated_at=NOW) == outreach_item(dict(AHMED), generated_at=NOW)


def test_fallback_item() -> None:
    item = fallback_outreach_item(AHMED, "linkedin", NOW)
    assert item == {
        "lead_id": "lead-1",
        "lead_name": "Ahmed Al Mansouri",
        "channel": "linkedin",
        "status": "fallback",
        "message": {"subject": "Following up with Acme Holdings", "body": item["message"]["body"]},
        "generated_at": "2025-12-13T09:30:00.000Z",
        "ai_generated": False,
        "fallback": True,
    }
    assert item["message"]["body"].startswith("Hello Ahmed,\n\n")
    assert "Placeholder" in item["message"]["body"]
    assert len(item["message"]["body"]) <= LINKEDIN_MAX_CHARS


@pytest.mark.parametrize("lead", [{}, None, [], {"name": None}, {"name": "null", "company": ""}])
@pytest.mark.parametrize("channel", [None, "fax", 5, "call_script"])
def test_fallback_never_fails(lead: object, channel: object) -> None:
    item = fallback_outreach_item(lead, channel, NOW)  # type: ignore[arg-type]
    assert item["channel"] in CHANNELS
    assert item["message"]["subject"] == "Following up"
    assert item["message"]["body"].startswith("Hello,\n\n")
    assert not BROKEN.search(item["message"]["body"])


lead_values = st.none() | st.text(max_size=120) | st.integers() | st.booleans()
leads = st.dictionaries(
    st.sampled_from(["id", "name", "first_name", "last_name", "company", "designation", "industry", "title", "score"]),
    lead_values,
)


@given(
    leads,
    st.sampled_from(PROFILES),
    st.sampled_from(CHANNELS),
    st.sampled_from(TONES),
    st.sampled_from(PERSONALIZATION_LEVELS),
    st.none() | st.floats() | st.dictionaries(st.sampled_from(["band", "score", "total"]), lead_values),
)
def test_any_lead_renders(lead: dict, profile: str, channel: str, tone: str, level: str, score: object) -> None:
    item = outreach_item(
        lead, profile=profile, channel=channel, tone=tone, personalization=level, score=score, generated_at=NOW
    )
    message = item["message"]
    assert message["subject"].strip() and message["body"].strip()
    assert not re.search(r"\b(?:Hi|Dear|Hello) (?:None|null)\b", message["body"])
    if channel == "linkedin":
        assert len(message["body"]) <= LINKEDIN_MAX_CHARS


@pytest.mark.parametrize("name", ["HR Decision Maker", "Contact 1", "Head of Sales"])
@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize("tone", TONES)
def test_a_role_or_placeholder_is_not_greeted_as_a_person(name: str, channel: str, tone: str) -> None:
    lead = {"id": "l-1", "name": name, "company": "Acme Holdings"}
    item = outreach_item(lead, channel=channel, tone=tone, generated_at=NOW)
    first_word = name.split()[0]
    text = item["message"]["subject"] + "\n" + item["message"]["body"]
    assert not re.search(rf"(Hi|Dear|Hello|^)\s*{first_word}\b", text, re.MULTILINE)
    assert item["lead_name"] == name  # the lead is still named as given
    assert fallback_outreach_item(lead, channel, NOW)["message"]["body"].startswith("Hello,")


def test_role_name_gets_the_neutral_friendly_greeting() -> None:
    item = outreach_item({"name": "HR Decision Maker", "company": "Acme"}, channel="email", generated_at=NOW)
    assert item["message"]["body"].startswith("Hi there,")
