"""What a message may say about a lead: its name, first name, company, designation and industry.

Pure, no I/O; shared by the OS's outreach templates and the client's fallback messages. A "name"
that is a role or a placeholder ("HR Decision Maker", "Contact 1", "Head of Sales", "Unknown") is
never used as a first name: the greeting falls back to its neutral form ("Hi there,").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "CHANNELS",
    "CHANNEL_ALIASES",
    "DEFAULT_CHANNEL",
    "LeadFacts",
    "is_personal_name",
    "lead_facts",
]

CHANNELS = ("email", "linkedin", "call")
DEFAULT_CHANNEL = "email"
CHANNEL_ALIASES = {"call_script": "call", "call script": "call", "call-script": "call", "phone": "call"}

# Words that make a "name" a job, a team or a stand-in rather than a person's name.
_ROLE_WORDS = frozenset(
    [
        "hr",
        "human",
        "resources",
        "talent",
        "acquisition",
        "recruiter",
        "recruiting",
        "recruitment",
        "hiring",
        "decision",
        "maker",
        "makers",
        "head",
        "heads",
        "chief",
        "officer",
        "ceo",
        "cto",
        "cfo",
        "coo",
        "cmo",
        "cio",
        "ciso",
        "cpo",
        "chro",
        "vp",
        "svp",
        "evp",
        "avp",
        "president",
        "director",
        "directors",
        "manager",
        "managers",
        "lead",
        "leader",
        "owner",
        "founder",
        "cofounder",
        "co-founder",
        "partner",
        "principal",
        "executive",
        "exec",
        "admin",
        "administrator",
        "assistant",
        "coordinator",
        "specialist",
        "consultant",
        "analyst",
        "associate",
        "representative",
        "rep",
        "agent",
        "team",
        "department",
        "dept",
        "division",
        "office",
        "desk",
        "staff",
        "sales",
        "marketing",
        "finance",
        "procurement",
        "purchasing",
        "operations",
        "ops",
        "payroll",
        "accounts",
        "accounting",
        "treasury",
        "business",
        "development",
        "bd",
        "engineering",
        "legal",
        "compliance",
        "support",
        "customer",
        "client",
        "prospect",
        "contact",
        "contacts",
        "person",
        "people",
        "user",
        "member",
        "employee",
        "employees",
        "buyer",
        "account",
        "champion",
        "stakeholder",
        "placeholder",
        "sample",
        "test",
        "demo",
        "dummy",
        "unknown",
        "anonymous",
        "someone",
        "somebody",
        "there",
        "team's",
    ]
)
_LETTERS = re.compile(r"[^\W\d_]", re.UNICODE)


def is_personal_name(text: str) -> bool:
    """False for roles and placeholders: any role word ("HR Decision Maker", "Head of Sales"), a
    number ("Contact 1", "Lead #3"), or no letters at all; True for anything else."""
    words = [w.strip(".,;:()[]#'\"-/&").casefold() for w in text.split()]
    words = [w for w in words if w]
    if not words or any(ch.isdigit() for ch in text) or not _LETTERS.search(text):
        return False
    return not any(w in _ROLE_WORDS for w in words)


_NAME_FIELDS = ("name", "full_name", "lead_name", "contact_name")
_COMPANY_FIELDS = ("company", "company_name", "organization", "organisation", "employer")
_DESIGNATION_FIELDS = ("designation", "title", "job_title", "role", "position")
_INDUSTRY_FIELDS = ("industry", "sector")
_PLACEHOLDER_VALUES = frozenset({"none", "null", "nil", "n/a", "na", "undefined", "unknown", "-", "--", "?", "tbd"})
_HONORIFICS = frozenset(
    {"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "eng", "engr", "sir", "madam", "sheikh", "sheikha", "he", "hh"}
)
# Control characters, zero-width space and bidi overrides; ZWJ/ZWNJ and LRM/RLM stay (Arabic-script names).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b\u202a-\u202e\u2066-\u2069]")
_CLIP = {"first": 30, "full_name": 80, "company": 60, "designation": 60, "industry": 40}


@dataclass(frozen=True, slots=True)
class LeadFacts:
    """What the templates may say about a lead; None when the lead does not tell."""

    lead_id: str | int | None
    full_name: str | None
    first: str | None
    company: str | None
    designation: str | None
    industry: str | None


def _clean(value: object, limit: int) -> str | None:
    """Printable single-line text, at most ``limit`` characters, or None for blanks and placeholders."""
    if not isinstance(value, str):
        return None
    text = _CONTROL.sub("", " ".join(value.split())).strip()
    if not text or text.casefold() in _PLACEHOLDER_VALUES:
        return None
    return text if len(text) <= limit else text[:limit].rstrip()


def _first_of(lead: Mapping[str, Any], fields: tuple[str, ...], limit: int) -> str | None:
    for field in fields:
        text = _clean(lead.get(field), limit)
        if text:
            return text
    return None


def _tidy_case(word: str) -> str:
    """``AHMED`` / ``ahmed`` -> ``Ahmed``; mixed case (``McDonald``) and initials (``JP``) are kept."""
    if len(word) > 2 and (word.isupper() or word.islower()):
        return word[0].upper() + word[1:].lower()
    return word


def _first_name(full_name: str | None) -> str | None:
    if not full_name or not is_personal_name(full_name):
        return None
    for word in full_name.split():
        if word.replace(".", "").casefold() not in _HONORIFICS:
            return _tidy_case(word.strip(",;"))
    return None


def _lead_id(lead: Mapping[str, Any]) -> str | int | None:
    for field in ("id", "lead_id"):
        value = lead.get(field)
        if isinstance(value, str | int) and not isinstance(value, bool):
            return value
    return None


def lead_facts(lead: object) -> LeadFacts:
    """Name, first name, company, designation and industry of a lead, from any common spelling."""
    lead = lead if isinstance(lead, Mapping) else {}
    full_name = _first_of(lead, _NAME_FIELDS, _CLIP["full_name"])
    first = _clean(lead.get("first_name"), _CLIP["first"])
    if full_name is None and first:
        last = _clean(lead.get("last_name"), _CLIP["full_name"])
        full_name = f"{first} {last}" if last else first
    if first and not is_personal_name(first):
        first = None
    first = _tidy_case(first) if first else _first_name(full_name)
    return LeadFacts(
        lead_id=_lead_id(lead),
        full_name=full_name,
        first=first[: _CLIP["first"]] if first else None,
        company=_first_of(lead, _COMPANY_FIELDS, _CLIP["company"]),
        designation=_first_of(lead, _DESIGNATION_FIELDS, _CLIP["designation"]),
        industry=_first_of(lead, _INDUSTRY_FIELDS, _CLIP["industry"]),
    )
