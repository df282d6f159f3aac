"""Outreach message templates (SPEC §5.3, §5.4; reference §4): pure, no I/O.

A message is built from slots (greeting, introduction, relevance, timing, value, call to action,
closing). Each slot has candidate sentences in order of preference; the first whose placeholders
the lead can fill is used, and a slot nobody can fill is left out. So a lead without a name gets
"Hi there," and never "Hi None,".

What changes the text:

* profile: topic, subject lines, value proposition and the discovery question of a call script;
* channel: ``email`` (subject, paragraphs, sign-off); ``linkedin`` (short, at most 300 characters,
  optional sentences dropped until it fits; the subject is the InMail subject); ``call`` (a script
  with labelled lines for the caller; the subject is a title such as ``Call script: Ahmed at Acme``);
* tone: ``formal`` (no contractions, "Dear"), ``friendly`` (contractions, "Hi"), ``direct`` (short);
* personalization: ``low`` names only the person; ``medium`` adds company and designation;
  ``high`` adds industry and, when ``now`` is given, the coming quarter;
* score band (HOT / WARM / COOL / COLD, from the contract's ``score.total`` or a composite score): how
  pressing the call to action is. It is never shown to the lead, only in the caller's script.

The reference's employee-banking template pitched recruiting ("top banking talent") although the
profile is for bank staff selling payroll and salary accounts (as its own AI persona says); these
templates pitch payroll and employee banking. SME banking and SaaS get their own copy instead of the
default one.
"""

from __future__ import annotations

import math
import string
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from leadstream.scoring.os_labels import composite_tier
from leadstream.scoring.os_profiles import resolve_profile
from leadstream_client.leads import CHANNEL_ALIASES, CHANNELS, DEFAULT_CHANNEL, LeadFacts, lead_facts

__all__ = [
    "BANDS",
    "CHANNELS",
    "LINKEDIN_MAX_CHARS",
    "PERSONALIZATION_LEVELS",
    "TONES",
    "LeadFacts",
    "OutreachOptionError",
    "lead_facts",
    "normalise_channel",
    "normalise_personalization",
    "normalise_tone",
    "outreach_item",
    "pitch_brief",
    "render_outreach",
    "score_band",
]

TONES = ("formal", "friendly", "direct")
PERSONALIZATION_LEVELS = ("low", "medium", "high")
BANDS = ("HOT", "WARM", "COOL", "COLD")
LINKEDIN_MAX_CHARS = 300

DEFAULT_TONE = "friendly"
DEFAULT_PERSONALIZATION = "medium"


class OutreachOptionError(ValueError):
    """An unknown channel, tone or personalization level (the edge answers 400)."""

    def __init__(self, field: str, value: object, allowed: tuple[str, ...]) -> None:
        self.field = field
        self.value = value
        super().__init__(f"Unknown {field} {value!r}; expected one of: {', '.join(allowed)}")


def _option(field: str, value: object, allowed: tuple[str, ...], default: str, aliases: Mapping[str, str]) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        return default
    if isinstance(value, str):
        key = value.strip().casefold()
        key = aliases.get(key, key)
        if key in allowed:
            return key
    raise OutreachOptionError(field, value, allowed)


def normalise_channel(value: object) -> str:
    """``email`` | ``linkedin`` | ``call`` (``call_script`` and ``phone`` mean call); None -> email."""
    return _option("channel", value, CHANNELS, DEFAULT_CHANNEL, CHANNEL_ALIASES)


def normalise_tone(value: object) -> str:
    return _option("tone", value, TONES, DEFAULT_TONE, {})


def normalise_personalization(value: object) -> str:
    return _option("personalization_level", value, PERSONALIZATION_LEVELS, DEFAULT_PERSONALIZATION, {})


# --- lead facts ------------------------------------------------------------------------------------

# --- score band ------------------------------------------------------------------------------------

_BAND_WORDS = {"HOT": "HOT", "WARM": "WARM", "COOL": "COOL", "COLD": "COLD", "DISQUALIFIED": "COLD"}


def _band_of(value: object) -> str | None:
    if isinstance(value, str):
        return _BAND_WORDS.get(value.strip().upper())
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return composite_tier(min(100.0, max(0.0, float(value))))
    return None


def score_band(score: object) -> str | None:
    """HOT / WARM / COOL / COLD from the contract's ``{"total": {"score", "band"}}``, a ``/score``
    result (``composite`` or ``scores.composite``), a bare ``band``/``tier``/``score``/``value``, or a
    number (composite tiers of SPEC §3.5). None when nothing usable is given."""
    if not isinstance(score, Mapping):
        return _band_of(score)
    for key in ("total", "composite"):
        part = score.get(key)
        if isinstance(part, Mapping):
            band = _band_of(part.get("band")) or _band_of(part.get("tier"))
            band = band or _band_of(part.get("score")) or _band_of(part.get("value"))
            if band:
                return band
    scores = score.get("scores")
    if isinstance(scores, Mapping) and isinstance(scores.get("composite"), Mapping):
        return score_band({"composite": scores["composite"]})
    for key in ("band", "tier", "score", "value"):
        band = _band_of(score.get(key))
        if band:
            return band
    return None


# --- template machinery ----------------------------------------------------------------------------

Candidates = tuple[str, ...]


@lru_cache(maxsize=512)
def _fields(template: str) -> frozenset[str]:
    return frozenset(name for _, name, _, _ in string.Formatter().parse(template) if name)


def _fill(candidates: Candidates, values: Mapping[str, str | None]) -> str | None:
    """The first candidate whose placeholders all have values, filled in; None if there is none."""
    for template in candidates:
        if all(values.get(name) for name in _fields(template)):
            return template.format_map(values)
    return None


def _sentences(*parts: str | None) -> str:
    return " ".join(part for part in parts if part)


@dataclass(frozen=True, slots=True)
class _Pitch:
    topic: str
    subjects: Mapping[str, Candidates]  # by tone
    value: str
    short_value: str
    question: str
    org: str = "[your company]"


def _subjects(formal: Candidates, friendly: Candidates, direct: Candidates) -> Mapping[str, Candidates]:
    return {"formal": formal, "friendly": friendly, "direct": direct}


_PITCHES: Mapping[str, _Pitch] = {
    "banking_employee": _Pitch(
        topic="payroll and employee banking",
        subjects=_subjects(
            ("Payroll and employee banking for {company}", "Payroll and employee banking for your team"),
            ("Making payday simpler at {company}", "Making payday simpler for your team"),
            ("{company}: payroll, simplified", "Payroll, simplified"),
        ),
        value="We help employers pay salaries on time, every time, and give their staff salary accounts, cards "
        "and workplace benefits from their first day.",
        short_value="We make payroll and staff salary accounts simple.",
        question="How do you handle salary payments and bank accounts for new joiners today?",
        org="[your bank]",
    ),
    "banking_corporate": _Pitch(
        topic="corporate banking",
        subjects=_subjects(
            ("Treasury and trade finance support for {company}", "Treasury and trade finance support"),
            ("An idea for the {company} finance team", "An idea for your finance team"),
            ("{company}: working capital and trade finance", "Working capital and trade finance"),
        ),
        value="We support finance teams with cash management, trade finance and working-capital facilities "
        "built around their business cycle.",
        short_value="We support finance teams with cash management and trade finance.",
        question="What puts the most pressure on your working capital this year?",
        org="[your bank]",
    ),
    "banking_sme": _Pitch(
        topic="business banking",
        subjects=_subjects(
            ("Business banking for {company}", "Business banking for growing companies"),
            ("Banking that keeps up with {company}", "Banking that keeps up with you"),
            ("{company}: faster business banking", "Faster business banking"),
        ),
        value="We help growing businesses with accounts, working capital and trade finance that keep pace as "
        "they expand.",
        short_value="We help growing businesses with accounts and working capital.",
        question="Is your current bank keeping up as the business grows?",
        org="[your bank]",
    ),
    "insurance_individual": _Pitch(
        topic="personal protection cover",
        subjects=_subjects(
            ("Reviewing your protection cover, {first}", "Reviewing your protection cover"),
            ("A quick question for you, {first}", "A quick question for you"),
            ("{first}, is your cover up to date?", "Is your cover up to date?"),
        ),
        value="I help professionals check that their life, health and income protection still fits their "
        "circumstances.",
        short_value="I help professionals keep their life and health cover up to date.",
        question="When did you last review your life and health cover?",
    ),
    "recruitment_hiring": _Pitch(
        topic="hiring support",
        subjects=_subjects(
            ("Supporting hiring at {company}", "Supporting your hiring plans"),
            ("{company} and your next hires", "Your next hires"),
            ("Hiring at {company}", "Your hiring plans"),
        ),
        value="We track hiring signals across the market, so teams can plan roles and reach candidates before "
        "the competition does.",
        short_value="We spot hiring signals early so teams can plan ahead.",
        question="Which roles are hardest for you to fill at the moment?",
    ),
    "saas_b2b": _Pitch(
        topic="workflow software",
        subjects=_subjects(
            ("Streamlining workflows at {company}", "Streamlining your team's workflows"),
            ("An idea for the {company} team", "An idea for your team"),
            ("{company}: less manual work", "Less manual work"),
        ),
        value="We help teams cut repetitive manual work and get answers faster from the tools they already use.",
        short_value="We help teams cut manual work in the tools they already use.",
        question="Where does your team lose the most time to manual work today?",
    ),
    "default": _Pitch(
        topic="market intelligence",
        subjects=_subjects(
            ("Market intelligence for {company}", "Market intelligence for your team"),
            ("An idea for {first} at {company}", "An idea for {first}", "An idea for the {company} team", "An idea"),
            ("{company}: better market signals", "Better market signals"),
        ),
        value="We help teams spot buying signals early and act on them while they still matter.",
        short_value="We help teams spot buying signals early.",
        question="How does your team find out when a prospect is ready to buy?",
    ),
}

_GREETINGS: Mapping[tuple[str, str], Candidates] = {
    ("email", "formal"): ("Dear {first},", "Dear {company} team,", "Hello,"),
    ("email", "friendly"): ("Hi {first},", "Hi there,"),
    ("email", "direct"): ("{first},", "Hello,"),
    ("linkedin", "formal"): ("Dear {first},", "Hello,"),
    ("linkedin", "friendly"): ("Hi {first},", "Hi there,"),
    ("linkedin", "direct"): ("Hi {first},", "Hi,"),
}
_CLOSINGS = {
    ("email", "formal"): "Kind regards",
    ("email", "friendly"): "Best wishes",
    ("email", "direct"): "Thanks",
    ("linkedin", "formal"): "Kind regards",
    ("linkedin", "friendly"): "Looking forward to connecting",
    ("linkedin", "direct"): "Thanks",
}

# Introduction: medium and high personalization may name the company, low never does.
_INTROS: Mapping[tuple[str, str], tuple[Candidates, Candidates]] = {
    # (channel, tone): (with company, without)
    ("email", "formal"): (
        ("I am writing to introduce our {topic} services to {company}.",),
        ("I am writing to introduce our {topic} services.",),
    ),
    ("email", "friendly"): (
        ("I'm reaching out to introduce our {topic} services to {company}.",),
        ("I'm reaching out to introduce our {topic} services.",),
    ),
    ("email", "direct"): (("A quick note about {topic} for {company}.",), ("A quick note about {topic}.",)),
    ("linkedin", "formal"): (
        ("I would welcome the chance to connect regarding {topic} for {company}.",),
        ("I would welcome the chance to connect regarding {topic}.",),
    ),
    ("linkedin", "friendly"): (
        ("I'd love to connect about {topic} for {company}.",),
        ("I'd love to connect about {topic}.",),
    ),
    ("linkedin", "direct"): (("Connecting about {topic} for {company}.",), ("Connecting about {topic}.",)),
}
_RELEVANCE = {
    "formal": ("As {designation}, you may find this relevant.",),
    "friendly": ("As {designation}, I thought this might be useful to you.",),
    "direct": ("As {designation}, this is likely on your desk.",),
}
_INDUSTRY = {
    "formal": ("Having followed developments in the {industry} sector, I believe the timing may be right.",),
    "friendly": ("I've been following the {industry} sector, and the timing looks right.",),
    "direct": ("The {industry} sector is moving fast, and this helps you stay ahead.",),
}
_QUARTER = {
    "formal": ("As you plan for {quarter}, this may be worth a conversation.",),
    "friendly": ("With {quarter} planning coming up, now could be a good moment.",),
    "direct": ("Worth settling before {quarter}.",),
}

# Call to action by score band (None = no score given) and tone.
_CTAS: Mapping[str | None, Mapping[str, str]] = {
    "HOT": {
        "formal": "Would you be available for a short call this week?",
        "friendly": "Could we grab 15 minutes this week?",
        "direct": "Are you free for 15 minutes this week?",
    },
    "WARM": {
        "formal": "Would you be open to a brief conversation in the coming weeks?",
        "friendly": "Would you be up for a quick chat in the next couple of weeks?",
        "direct": "Worth a 15-minute call in the next two weeks?",
    },
    "COOL": {
        "formal": "If it would be useful, I would be happy to send a short overview.",
        "friendly": "Happy to send over a short overview if that's useful.",
        "direct": "Want a one-page overview?",
    },
    "COLD": {
        "formal": "There is no urgency; I would simply be glad to stay in touch.",
        "friendly": "No rush at all, happy to stay in touch for when the timing's right.",
        "direct": "If now isn't the time, say so and I'll check back later.",
    },
    None: {
        "formal": "Would you be open to a brief conversation?",
        "friendly": "Would you be open to a quick chat?",
        "direct": "Worth a quick call?",
    },
}
_CALL_NEXT_STEP = {
    "HOT": "Propose a meeting this week.",
    "WARM": "Propose a follow-up call within two weeks.",
    "COOL": "Offer to send a short overview and agree when to call back.",
    "COLD": "Keep it light; ask permission to stay in touch.",
    None: "Ask for a short follow-up meeting.",
}
_CALL_OPENINGS = {
    "formal": (
        "Good day {first}, this is [your name] calling from {org}. Do you have two minutes?",
        "Good day, this is [your name] calling from {org}. Do you have two minutes?",
    ),
    "friendly": (
        "Hi {first}, it's [your name] from {org}. Have you got a couple of minutes?",
        "Hi, it's [your name] from {org}. Have you got a couple of minutes?",
    ),
    "direct": ("{first}, [your name] from {org}. I'll be brief.", "Hello, [your name] from {org}. I'll be brief."),
}
_CALL_REASONS = {
    "formal": ("I am calling about {topic} for {company}.", "I am calling about {topic}."),
    "friendly": ("I'm calling about {topic} for {company}.", "I'm calling about {topic}."),
    "direct": ("It's about {topic} for {company}.", "It's about {topic}."),
}
_CALL_CONTEXT = (
    "{designation} at {company}, {industry} sector.",
    "{designation} at {company}.",
    "{company}, {industry} sector.",
    "{designation}, {industry} sector.",
    "{company}.",
    "{designation}.",
    "{industry} sector.",
)
_CALL_TITLES = ("Call script: {first} at {company}", "Call script: {first}", "Call script: {company}", "Call script")


def _next_quarter(now: datetime) -> str:
    quarter = (now.month - 1) // 3 + 1
    year = now.year + (quarter == 4)
    return f"Q{quarter % 4 + 1} {year}"


def _values(facts: LeadFacts, pitch: _Pitch, personalization: str, now: datetime | None) -> dict[str, str | None]:
    """Placeholder values the personalization level allows."""
    detailed = personalization != "low"
    high = personalization == "high"
    return {
        "first": facts.first,
        "company": facts.company if detailed else None,
        "designation": facts.designation if detailed else None,
        "industry": facts.industry if high else None,
        "quarter": _next_quarter(now) if high and now is not None else None,
        "topic": pitch.topic,
        "org": pitch.org,
    }


def pitch_brief(profile: str | None) -> dict[str, str]:
    """What a profile's messages are about (topic, value proposition, discovery question, who signs),
    for prompts that write in the same voice as the templates. Raises :class:`UnknownProfile`."""
    pitch = _PITCHES[resolve_profile(profile)]
    return {"topic": pitch.topic, "value": pitch.value, "question": pitch.question, "sender": pitch.org}


# --- channels --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Request:
    pitch: _Pitch
    channel: str
    tone: str
    personalization: str
    band: str | None
    values: Mapping[str, str | None]

    def fill(self, candidates: Candidates) -> str | None:
        return _fill(candidates, self.values)

    def intro(self) -> str | None:
        with_company, without = _INTROS[(self.channel, self.tone)]
        return self.fill(with_company + without)

    def extras(self) -> list[str | None]:
        """Relevance, industry and timing sentences, in order of importance."""
        return [
            self.fill(_RELEVANCE[self.tone]),
            self.fill(_INDUSTRY[self.tone]),
            self.fill(_QUARTER[self.tone]),
        ]

    def cta(self) -> str:
        return _CTAS[self.band][self.tone]


def _email(req: _Request) -> dict[str, str]:
    greeting = req.fill(_GREETINGS[("email", req.tone)])
    paragraphs = [
        greeting,
        _sentences(req.intro(), *req.extras()),
        req.pitch.value,
        req.cta(),
        _CLOSINGS[("email", req.tone)],
    ]
    subject = req.fill(req.pitch.subjects[req.tone]) or req.pitch.topic.capitalize()
    return {"subject": subject, "body": "\n\n".join(p for p in paragraphs if p)}


def _linkedin_body(req: _Request, intro: str | None, extras: list[str], *, closing: bool) -> str:
    greeting = req.fill(_GREETINGS[("linkedin", req.tone)])
    middle = _sentences(intro, *extras, req.pitch.short_value, req.cta())
    sign_off = _CLOSINGS[("linkedin", req.tone)] if closing else None
    return "\n\n".join(p for p in (greeting, middle, sign_off) if p)


def _linkedin_drafts(req: _Request) -> Iterator[str]:
    """Ever shorter drafts: everything; the least important extra sentences dropped one by one; the
    company left out of the introduction; the sign-off left out."""
    extras = [e for e in req.extras() if e]
    intro = req.intro()
    for keep in range(len(extras), -1, -1):
        yield _linkedin_body(req, intro, extras[:keep], closing=True)
    plain_intro = req.fill(_INTROS[("linkedin", req.tone)][1])
    yield _linkedin_body(req, plain_intro, [], closing=True)
    yield _linkedin_body(req, plain_intro, [], closing=False)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def _linkedin(req: _Request) -> dict[str, str]:
    drafts = list(_linkedin_drafts(req))
    body = next((d for d in drafts if len(d) <= LINKEDIN_MAX_CHARS), _cut(drafts[-1], LINKEDIN_MAX_CHARS))
    subject = req.fill(req.pitch.subjects[req.tone]) or req.pitch.topic.capitalize()
    return {"subject": subject, "body": body}


def _call(req: _Request) -> dict[str, str]:
    lines = [
        ("Opening", req.fill(_CALL_OPENINGS[req.tone])),
        ("Reason for calling", req.fill(_CALL_REASONS[req.tone])),
        ("Context", req.fill(_CALL_CONTEXT) if req.personalization != "low" else None),
        ("Lead band", req.band),
        ("Value", req.pitch.value),
        ("Question", req.pitch.question),
        ("Next step", _CALL_NEXT_STEP[req.band]),
        ("If it is a bad time", "No problem. When would be a better time to call back?"),
    ]
    body = "\n".join(f"{label}: {text}" for label, text in lines if text)
    return {"subject": req.fill(_CALL_TITLES) or "Call script", "body": body}


_RENDERERS: Mapping[str, Callable[[_Request], dict[str, str]]] = {
    "email": _email,
    "linkedin": _linkedin,
    "call": _call,
}


def render_outreach(
    lead: Mapping[str, Any],
    *,
    profile: str | None = "default",
    channel: str | None = DEFAULT_CHANNEL,
    tone: str | None = DEFAULT_TONE,
    personalization: str | None = DEFAULT_PERSONALIZATION,
    score: Mapping[str, Any] | float | None = None,
    now: datetime | None = None,
) -> dict[str, str]:
    """``{"subject", "body"}`` of one outreach message from the templates.

    The lead's own ``score`` wins over the request-level ``score``. Raises
    :class:`~leadstream.scoring.os_profiles.UnknownProfile` or :class:`OutreachOptionError` for
    options outside the contract's vocabulary (None means the default).
    """
    channel = normalise_channel(channel)
    tone = normalise_tone(tone)
    personalization = normalise_personalization(personalization)
    pitch = _PITCHES[resolve_profile(profile)]
    lead_score = lead.get("score") if isinstance(lead, Mapping) else None
    band = score_band(lead_score) or score_band(score)
    values = _values(lead_facts(lead), pitch, personalization, now)
    return _RENDERERS[channel](_Request(pitch, channel, tone, personalization, band, values))


# --- contract items --------------------------------------------------------------------------------


def _timestamp(moment: datetime | str) -> str:
    """``2025-12-13T00:00:00.000Z`` (the contract's form); naive datetimes are taken as UTC."""
    if isinstance(moment, str):
        return moment
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def outreach_item(
    lead: Mapping[str, Any],
    *,
    profile: str | None = "default",
    channel: str | None = DEFAULT_CHANNEL,
    tone: str | None = DEFAULT_TONE,
    personalization: str | None = DEFAULT_PERSONALIZATION,
    score: Mapping[str, Any] | float | None = None,
    generated_at: datetime | str,
) -> dict[str, Any]:
    """One element of the contract's ``outreach_items[]`` from the templates (``ai_generated: false``)."""
    now = generated_at if isinstance(generated_at, datetime) else None
    message = render_outreach(
        lead, profile=profile, channel=channel, tone=tone, personalization=personalization, score=score, now=now
    )
    facts = lead_facts(lead)
    return {
        "lead_id": facts.lead_id,
        "lead_name": facts.full_name or "",
        "channel": normalise_channel(channel),
        "message": message,
        "generated_at": _timestamp(generated_at),
        "ai_generated": False,
    }
