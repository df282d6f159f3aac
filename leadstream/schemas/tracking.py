"""Tracking payloads: what browsers send to ``/api/sync`` (short keys) and the Kafka record.

Validation rules are SPEC §2.1. Unknown top-level keys are ignored; every string is bounded
so no payload can grow a record without limit.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from uuid import UUID, uuid5

import orjson
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    StrictStr,
    ValidationError,
    field_validator,
    model_validator,
)

from leadstream.schemas.errors import PayloadError
from leadstream.schemas.network import whole_ip_read_as_prefix

MAX_BATCH = 100
MAX_META_EXTRA_KEYS = 64  # extra meta keys kept per event; the rest are dropped and counted, never a 400
MAX_META_KEY_LEN = 64
MAX_META_VALUE_LEN = 512
# Client event ids (``eid``) map to server event ids in this namespace: a re-sent event keeps its id.
CLIENT_EVENT_NAMESPACE = UUID("0c6b1f0e-52a4-4c1e-9d4b-6f2f3b8a7d10")

Category = Literal["interaction", "conversion", "acquisition", "system"]
Number = Annotated[float, Strict()]

_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])-01$")
CLICK_ID_KEYS = ("gclid", "wbraid", "gbraid")


def current_month() -> date:
    now = datetime.now(UTC)
    return date(now.year, now.month, 1)


def _wire_meta_schema(schema: dict[str, Any]) -> None:
    # On the wire, extra keys sit beside the known ones; ``extra`` and ``dropped`` are the parsed form.
    schema["properties"].pop("extra", None)
    schema["properties"].pop("dropped", None)
    schema["additionalProperties"] = {"type": ["string", "number", "boolean", "null"], "maxLength": MAX_META_VALUE_LEN}
    schema["description"] = (
        f"fp, click ids and duration_sec are typed; other keys are kept as strings (the utm_* ones always, "
        f"then the first {MAX_META_EXTRA_KEYS} others; any more, and keys over {MAX_META_KEY_LEN} chars or with "
        f"characters other than letters, digits and _.:-, are dropped and counted, never refused)"
    )


class EventMeta(BaseModel):
    """Known meta keys are typed; other keys are kept as bounded strings in ``extra``: the standard
    UTM keys always, then the first ``MAX_META_EXTRA_KEYS`` others. Keys past those, and keys too
    long or with characters outside a safe set, are dropped and counted in ``dropped`` (a tracker
    must never lose an event to the keys it sends)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, json_schema_extra=_wire_meta_schema)

    fp: Annotated[StrictStr, Field(max_length=128)] | None = None
    gclid: Annotated[StrictStr, Field(max_length=256)] | None = None
    wbraid: Annotated[StrictStr, Field(max_length=256)] | None = None
    gbraid: Annotated[StrictStr, Field(max_length=256)] | None = None
    duration_sec: Annotated[Number, Field(ge=0)] | None = None
    extra: dict[str, str] = Field(default_factory=dict)
    dropped: int = 0

    @model_validator(mode="before")
    @classmethod
    def _collect_extra(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            raise ValueError("must be an object")
        known: dict[str, Any] = {}
        extra: dict[str, str] = {}
        others = dropped = 0
        for key, value in data.items():
            if key in _META_KNOWN:
                known[key] = value
                continue
            if not _SAFE_META_KEY.fullmatch(key):  # too long or odd: dropped, never the event with it
                dropped += 1
                continue
            if key not in _UTM_KEYS:
                if others == MAX_META_EXTRA_KEYS:
                    dropped += 1
                    continue
                others += 1
            if value is None:
                continue
            if isinstance(value, (dict, list)):
                raise ValueError(f"{key} must be a string, number or boolean")
            text = value if isinstance(value, str) else str(value).lower() if isinstance(value, bool) else str(value)
            if len(text) > MAX_META_VALUE_LEN:
                raise ValueError(f"{key} longer than {MAX_META_VALUE_LEN} chars")
            extra[key] = text
        known["extra"] = extra
        known["dropped"] = dropped
        return known

    def click_ids(self) -> dict[str, str]:
        return {k: v for k in CLICK_ID_KEYS if (v := getattr(self, k))}


# Keys kept as sent: letters, digits and ``_ . : -`` (every utm_*, click-id and tracker key); anything
# else (control characters, quotes, markup, spaces, non-ASCII) or longer is dropped and counted.
_SAFE_META_KEY = re.compile(rf"[A-Za-z0-9_.:-]{{1,{MAX_META_KEY_LEN}}}")
_META_KNOWN = frozenset({"fp", "gclid", "wbraid", "gbraid", "duration_sec"})
_UTM_KEYS = frozenset({"utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "utm_id"})


class SyncEvent(BaseModel):
    """One tracker event, in the tracker's short keys."""

    model_config = ConfigDict(extra="ignore", allow_inf_nan=False)

    s: Annotated[StrictStr, Field(min_length=1, max_length=128)]
    u: Annotated[StrictStr, Field(min_length=1, max_length=4096)]
    sid: UUID
    sm: date | None = None
    ec: Category = "interaction"
    ea: Annotated[StrictStr, Field(min_length=1, max_length=64)] = "view"
    el: Annotated[StrictStr, Field(max_length=512)] | None = None
    ev: Number | None = None
    meta: EventMeta = Field(default_factory=EventMeta)
    r: Annotated[StrictStr, Field(max_length=2048)] | None = None
    consent_scopes: list[Annotated[StrictStr, Field(max_length=64)]] | None = Field(
        default=None,
        max_length=16,
        description='the visitor\'s consent, e.g. ["analytics", "marketing"]; absent: consented, unless the '
        "site requires consent. Without analytics the event is not stored; without marketing it is stored "
        "without click ids and campaign parameters",
    )
    eid: UUID | None = Field(default=None, description="client event id: sent again, the event is stored once")
    rt: bool = Field(default=False, description="true when an earlier send of this event (same eid) may have arrived")

    @field_validator("u")
    @classmethod
    def _absolute_http_url(cls, value: str) -> str:
        try:
            parts = urlsplit(value)
        except ValueError:
            raise ValueError("must be an absolute http(s) URL") from None
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an absolute http(s) URL")
        return value

    @field_validator("sid", mode="before")
    @classmethod
    def _sid_is_text(cls, value: Any) -> Any:
        if not isinstance(value, str):
            raise ValueError("must be a UUID string")
        return value

    @field_validator("sm", mode="before")
    @classmethod
    def _month(cls, value: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, str) or not _MONTH.match(value):
            raise ValueError("must be YYYY-MM-01")
        return value

    @field_validator("consent_scopes")
    @classmethod
    def _lower_scopes(cls, scopes: list[str] | None) -> list[str] | None:
        return None if scopes is None else list(dict.fromkeys(s.strip().lower() for s in scopes if s.strip()))

    @property
    def month(self) -> date:
        return self.sm or current_month()

    def event_id(self, fresh: str) -> str:
        """The server event id: derived from the client's ``eid`` (so a re-send keeps it), else ``fresh``."""
        if self.eid is None:
            return fresh
        return str(uuid5(CLIENT_EVENT_NAMESPACE, f"{self.s}:{self.sid}:{self.eid}"))


class SyncBatch(BaseModel):
    """``{"events": [...]}`` as documented; validated event by event in ``parse_sync_payload``."""

    events: Annotated[list[SyncEvent], Field(min_length=1, max_length=MAX_BATCH)]


def parse_sync_payload(body: Any) -> tuple[list[SyncEvent], bool]:
    """Validate a decoded ``/api/sync`` body: one event or ``{"events": [...]}``.

    Returns the events and whether the body was a batch; raises PayloadError naming the
    first offending field.
    """
    if not isinstance(body, dict):
        raise PayloadError("body", "must be a JSON object")
    if "events" not in body:
        try:
            return [SyncEvent.model_validate(body)], False
        except ValidationError as exc:
            raise PayloadError.from_validation(exc) from None
    items = body["events"]
    if not isinstance(items, list):
        raise PayloadError("events", "must be an array")
    if not 1 <= len(items) <= MAX_BATCH:
        raise PayloadError("events", f"must hold 1..{MAX_BATCH} events, got {len(items)}")
    events: list[SyncEvent] = []
    for i, item in enumerate(items):
        try:
            event = SyncEvent.model_validate(item)
        except ValidationError as exc:
            raise PayloadError.from_validation(exc, prefix=("events", i)) from None
        if events and event.s != events[0].s:
            raise PayloadError(f"events[{i}].s", "must name the same site as events[0] (one site per batch)")
        events.append(event)
    return events, True


class EventRecord(BaseModel):
    """The record published to the events topic (key: session id). Full names; server-stamped."""

    model_config = ConfigDict(extra="ignore")

    event_id: UUID
    received_at: datetime
    site_id: str
    session_id: UUID
    session_month: date
    url: str
    category: Category
    action: str
    label: str | None = None
    value: float | None = None
    referrer: str | None = None
    fingerprint: str | None = None
    click_ids: dict[str, str] = Field(default_factory=dict)
    duration_sec: float | None = None
    meta: dict[str, str] = Field(default_factory=dict)
    meta_dropped: int = 0  # meta keys past the limit, dropped at the edge
    consent_scopes: list[str] | None = None  # as the tracker sent them; None: it sent none
    client_event_id: UUID | None = None
    resent: bool = False  # the tracker's rt: this may repeat an event already stored
    score: int
    ip_prefix: str | None = None  # the client's network (IPv4 /24, IPv6 /48): never the whole address
    visitor_hash: str | None = None  # keyed hash of (site, IP, user agent), its key rotated daily
    user_agent: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _legacy_ip(cls, data: Any) -> Any:
        return whole_ip_read_as_prefix(data)


def encode_event_record(
    event: SyncEvent,
    *,
    event_id: str,
    received_at: datetime,
    score: int,
    ip_prefix: str | None,
    visitor_hash: str | None,
    user_agent: str | None,
) -> bytes:
    """The ``EventRecord`` JSON for a validated event, straight to bytes.

    On the edge's hot path: a model built and dumped by pydantic costs ~4x this, for the same
    JSON (tests check that ``EventRecord`` reads it back field for field).
    """
    meta = event.meta
    return orjson.dumps(
        {
            "event_id": event_id,
            "received_at": received_at,
            "site_id": event.s,
            "session_id": event.sid,
            "session_month": event.month,
            "url": event.u,
            "category": event.ec,
            "action": event.ea,
            "label": event.el,
            "value": event.ev,
            "referrer": event.r,
            "fingerprint": meta.fp,
            "click_ids": meta.click_ids(),
            "duration_sec": meta.duration_sec,
            "meta": meta.extra,
            "meta_dropped": meta.dropped,
            "consent_scopes": event.consent_scopes,
            "client_event_id": event.eid,
            "resent": event.rt,
            "score": score,
            "ip_prefix": ip_prefix,
            "visitor_hash": visitor_hash,
            "user_agent": user_agent[:512] if user_agent else None,
        },
        option=orjson.OPT_UTC_Z,
    )
