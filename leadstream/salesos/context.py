"""Sales-context resolution for the sales-OS edge (SPEC §5.2): pure, no I/O.

Where each value comes from, first present wins (present = a non-blank string):

* vertical: ``sales_context.vertical`` / ``.vertical_id`` → body ``vertical`` / ``vertical_id`` →
  header ``x-vertical``;
* sub-vertical: ``sales_context.sub_vertical`` / ``.sub_vertical_id`` → body ``sub_vertical`` /
  ``sub_vertical_id`` → header ``x-sub-vertical`` → implied by a compound vertical
  (``employee-banking``, as the SaaS sends ``vertical_id``) → the vertical's default;
* region: ``sales_context.region`` / ``.region_code`` → body ``region`` / ``region_code`` → header
  ``x-region``.

Missing context defaults to banking / employee_banking / UAE. Values are normalised: case and
surrounding space ignored, ``-`` and spaces read as ``_``, sub-verticals accepted bare or with the
vertical on either side (``corporate``, ``corporate-banking``, ``banking_corporate``), regions by
name, ISO code or emirate (``uae``, ``AE``, ``ARE``, ``U.A.E.``, ``United Arab Emirates``, ``Dubai``).

Only banking (employee, corporate, SME) in the UAE is active. Anything else raises
:class:`ContextNotAvailable`, checked in the order vertical, sub-vertical, region:

* KNOWN but inactive values (the reference's verticals insurance, recruitment and saas with their
  sub-verticals; the other GCC markets) get "coming soon" wording;
* UNKNOWN values are refused too, with the same error code and a "not supported" message. The
  reference lets an unknown sub-vertical or region through with a warning, but the SPEC makes only the
  listed context active, and being laxer with unknown values than with known ones would let any typo
  or alias slip past the gate. ``ContextNotAvailable.known`` tells the two apart.
* A value that is not a string (number, list, object) is unknown. A ``sales_context`` that is not an
  object is ignored, like an absent one. Sources are not cross-checked: a lower-precedence field that
  disagrees with a higher one is simply not used.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ACTIVE_REGIONS",
    "ACTIVE_SUB_VERTICALS",
    "ACTIVE_VERTICALS",
    "DEFAULT_REGION",
    "DEFAULT_SUB_VERTICAL",
    "DEFAULT_VERTICAL",
    "KNOWN_REGIONS",
    "KNOWN_SUB_VERTICALS",
    "ContextNotAvailable",
    "SalesContext",
    "profile_for",
    "resolve_sales_context",
]

DEFAULT_VERTICAL = "banking"
DEFAULT_SUB_VERTICAL = "employee_banking"
DEFAULT_REGION = "UAE"

# Verticals and sub-verticals the reference knows; banking is the only active vertical.
KNOWN_SUB_VERTICALS: Mapping[str, tuple[str, ...]] = {
    "banking": ("employee_banking", "corporate_banking", "sme_banking"),
    "insurance": ("individual", "corporate", "health"),
    "recruitment": ("tech_talent", "executive_search"),
    "saas": ("b2b",),
}
ACTIVE_VERTICALS = frozenset({"banking"})
ACTIVE_SUB_VERTICALS = frozenset(KNOWN_SUB_VERTICALS["banking"])

ACTIVE_REGIONS = frozenset({"UAE"})
# Canonical region -> accepted spellings (compared after normalisation, see _region_key).
_REGION_ALIASES: Mapping[str, tuple[str, ...]] = {
    "UAE": (
        "uae", "ae", "are", "united arab emirates", "emirates", "dubai", "abu dhabi", "sharjah", "ajman",
        "umm al quwain", "ras al khaimah", "fujairah",
    ),
    "KSA": ("ksa", "sa", "sau", "saudi arabia", "saudi", "kingdom of saudi arabia"),
    "QATAR": ("qatar", "qa", "qat"),
    "KUWAIT": ("kuwait", "kw", "kwt"),
    "BAHRAIN": ("bahrain", "bh", "bhr"),
    "OMAN": ("oman", "om", "omn"),
}  # fmt: skip
KNOWN_REGIONS = frozenset(_REGION_ALIASES)
_REGION_BY_ALIAS = {alias: region for region, aliases in _REGION_ALIASES.items() for alias in aliases}

_VERTICAL_ALIASES = {"bank": "banking", "banks": "banking", "insurer": "insurance", "recruiting": "recruitment"}

# Sub-vertical -> scoring profile of leadstream/scoring/os_profiles.py.
_PROFILES = {
    ("banking", "employee_banking"): "banking_employee",
    ("banking", "corporate_banking"): "banking_corporate",
    ("banking", "sme_banking"): "banking_sme",
    ("insurance", "individual"): "insurance_individual",
    ("recruitment", "tech_talent"): "recruitment_hiring",
    ("recruitment", "executive_search"): "recruitment_hiring",
    ("saas", "b2b"): "saas_b2b",
}

_FIELDS = {
    "vertical": (("vertical", "vertical_id"), "x-vertical"),
    "sub_vertical": (("sub_vertical", "sub_vertical_id"), "x-sub-vertical"),
    "region": (("region", "region_code"), "x-region"),
}


@dataclass(frozen=True, slots=True)
class SalesContext:
    vertical: str
    sub_vertical: str
    region: str

    @property
    def profile(self) -> str:
        """The scoring profile for this context (``banking_employee`` for employee banking, ...)."""
        return profile_for(self.vertical, self.sub_vertical)

    def as_dict(self) -> dict[str, str]:
        return {"vertical": self.vertical, "sub_vertical": self.sub_vertical, "region": self.region}


class ContextNotAvailable(Exception):
    """The requested vertical, sub-vertical or region is not active (the edge answers 400).

    ``known`` is False when the value is not one the OS knows at all (a typo, an unsupported market).
    """

    error = "Coming Soon"

    def __init__(self, error_code: str, message: str, *, field: str, value: object, known: bool) -> None:
        super().__init__(message)
        self.error_code = error_code
        self.message = message
        self.field = field
        self.value = value
        self.known = known

    def to_body(self) -> dict[str, Any]:
        return {"success": False, "error": self.error, "error_code": self.error_code, "message": self.message}


def profile_for(vertical: str, sub_vertical: str) -> str:
    """Scoring profile of a (canonical) vertical and sub-vertical; ``default`` when there is none."""
    return _PROFILES.get((vertical, sub_vertical), "default")


# --- reading the request ---------------------------------------------------------------------------


def _present(value: object) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


def _first_present(
    field: str, sales_context: Mapping[str, Any], body: Mapping[str, Any], headers: Mapping[str, str]
) -> object:
    keys, header = _FIELDS[field]
    for source in (sales_context, body):
        for key in keys:
            if _present(source.get(key)):
                return source[key]
    value = headers.get(header)
    return value if _present(value) else None


def _slug(value: str) -> str:
    """``" Employee-Banking "`` -> ``employee_banking``."""
    return re.sub(r"[\s\-]+", "_", value.strip().casefold()).strip("_")


def _shown(value: object) -> str:
    """A requested value as it may appear in a message: printable, short."""
    text = value if isinstance(value, str) else repr(value)
    text = "".join(ch for ch in text if ch.isprintable()).strip()
    return text if len(text) <= 40 else text[:40] + "…"


# --- vertical --------------------------------------------------------------------------------------


def _split_compound(slug: str) -> tuple[str, str | None]:
    """``employee_banking`` (or ``banking_employee``) as a vertical means banking + employee_banking.
    The vertical's name must be part of it: a bare ``corporate`` could be banking or insurance."""
    for vertical, subs in KNOWN_SUB_VERTICALS.items():
        sub = _sub_vertical_slug(vertical, slug)
        if sub in subs and vertical in slug.split("_") and slug != vertical:
            return vertical, sub
    return slug, None


def _resolve_vertical(raw: object) -> tuple[str, str | None]:
    """Canonical vertical and the sub-vertical a compound vertical implies."""
    if raw is None:
        return DEFAULT_VERTICAL, None
    slug = _slug(raw) if isinstance(raw, str) else ""
    slug = _VERTICAL_ALIASES.get(slug, slug)
    vertical, implied_sub = (slug, None) if slug in KNOWN_SUB_VERTICALS else _split_compound(slug)
    if vertical in ACTIVE_VERTICALS:
        return vertical, implied_sub
    known = vertical in KNOWN_SUB_VERTICALS
    if known:
        message = f"The {vertical} vertical is coming soon. Currently available: banking."
    else:
        message = f"Vertical '{_shown(raw)}' is not supported. Currently available: banking."
    raise ContextNotAvailable("VERTICAL_NOT_AVAILABLE", message, field="vertical", value=raw, known=known)


# --- sub-vertical ----------------------------------------------------------------------------------


def _sub_vertical_slug(vertical: str, slug: str) -> str:
    """Canonical spelling of a sub-vertical of ``vertical``: the bare stem, ``<stem>_<vertical>`` or
    ``<vertical>_<stem>`` all name the same one (``sme``, ``sme_banking``, ``banking_sme``)."""
    subs = KNOWN_SUB_VERTICALS.get(vertical, ())
    stem = slug.removeprefix(f"{vertical}_").removesuffix(f"_{vertical}")
    for sub in subs:
        if stem in (sub, sub.removesuffix(f"_{vertical}")):
            return sub
    return slug


def _known_elsewhere(slug: str) -> bool:
    return any(_sub_vertical_slug(v, slug) in subs for v, subs in KNOWN_SUB_VERTICALS.items())


def _resolve_sub_vertical(raw: object, vertical: str, implied: str | None) -> str:
    if raw is None:
        return implied or DEFAULT_SUB_VERTICAL
    slug = _sub_vertical_slug(vertical, _slug(raw)) if isinstance(raw, str) else ""
    if slug in ACTIVE_SUB_VERTICALS:
        return slug
    available = ", ".join(KNOWN_SUB_VERTICALS[vertical])
    known = bool(slug) and _known_elsewhere(slug)
    if known:
        message = f"Sub-vertical '{_shown(raw)}' is not available yet. Currently available for {vertical}: {available}."
    else:
        message = f"Sub-vertical '{_shown(raw)}' is not supported. Currently available for {vertical}: {available}."
    raise ContextNotAvailable("SUB_VERTICAL_NOT_AVAILABLE", message, field="sub_vertical", value=raw, known=known)


# --- region ----------------------------------------------------------------------------------------


def _region_key(value: str) -> str:
    """``" U.A.E. "`` -> ``uae``; ``"Abu-Dhabi"`` -> ``abu dhabi``."""
    text = value.strip().casefold().replace(".", "")
    return re.sub(r"[\s_\-]+", " ", text).strip()


def _resolve_region(raw: object) -> str:
    if raw is None:
        return DEFAULT_REGION
    region = _REGION_BY_ALIAS.get(_region_key(raw)) if isinstance(raw, str) else None
    if region in ACTIVE_REGIONS:
        return region
    if region is not None:
        message = f"Region '{_shown(raw)}' is coming soon. Currently available: UAE."
    else:
        message = f"Region '{_shown(raw)}' is not supported. Currently available: UAE."
    raise ContextNotAvailable("REGION_NOT_AVAILABLE", message, field="region", value=raw, known=region is not None)


# --- entry point -----------------------------------------------------------------------------------


def resolve_sales_context(
    body: Mapping[str, Any] | None = None, headers: Mapping[str, str] | None = None
) -> SalesContext:
    """The active sales context of a request, or :class:`ContextNotAvailable`.

    ``headers`` is a plain mapping with lower-cased names (``{"x-vertical": "banking"}``).
    """
    body = body if isinstance(body, Mapping) else {}
    headers = headers or {}
    nested = body.get("sales_context")
    sales_context = nested if isinstance(nested, Mapping) else {}

    def pick(field: str) -> object:
        return _first_present(field, sales_context, body, headers)

    vertical, implied_sub = _resolve_vertical(pick("vertical"))
    sub_vertical = _resolve_sub_vertical(pick("sub_vertical"), vertical, implied_sub)
    region = _resolve_region(pick("region"))
    return SalesContext(vertical, sub_vertical, region)
