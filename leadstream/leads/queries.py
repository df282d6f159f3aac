"""The leads API's reads, on the warehouse (run by the worker that owns it): leads with their
current stage, newest first, a page at a time (an opaque cursor over (created_at, id): stable
while new leads arrive). Every input is bound as a parameter."""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import UTC, datetime
from typing import Any

import orjson

from leadstream.enrichment.campaign import CAMPAIGN_COLUMNS
from leadstream.storage.warehouse import Warehouse

_CAMPAIGN = ", ".join(f"l.{c}" for c in CAMPAIGN_COLUMNS)
_SELECT = f"""
SELECT l.lead_id, l.session_id, l.kind, l.score, l.gclid, l.wbraid, l.gbraid, {_CAMPAIGN}, l.phone_number,
       l.created_at, if(s.stage = '', 'new', s.stage) AS current_stage, s.version, s.value, s.currency, s.note,
       s.changed_at
FROM (SELECT * FROM leads FINAL WHERE site_id = {{site:String}} __LEAD_FILTER__) AS l
LEFT JOIN (SELECT * FROM lead_stages_v WHERE site_id = {{site:String}} __STAGE_FILTER__) AS s ON s.lead_id = l.lead_id
"""
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _select(lead_filter: str, stage_filter: str) -> str:
    return _SELECT.replace("__LEAD_FILTER__", lead_filter).replace("__STAGE_FILTER__", stage_filter)


class BadCursor(ValueError):
    pass


def encode_cursor(created_at: datetime, lead_id: str) -> str:
    raw = orjson.dumps({"t": created_at.isoformat(), "id": lead_id})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        data = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        at = datetime.fromisoformat(data["t"])
        if at.tzinfo is None:
            raise ValueError
        return at, uuid.UUID(data["id"])
    except (binascii.Error, ValueError, TypeError, KeyError, AttributeError, orjson.JSONDecodeError):
        raise BadCursor("cursor is not one this API gave") from None


def _utc(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def lead_json(row: tuple[Any, ...]) -> dict[str, Any]:
    lead_id, session_id, kind, score, gclid, wbraid, gbraid, *rest = row
    campaign = dict(zip(CAMPAIGN_COLUMNS, rest[: len(CAMPAIGN_COLUMNS)], strict=True))
    phone, created, stage, version, value, currency, note, changed = rest[len(CAMPAIGN_COLUMNS) :]
    changed = _utc(changed) if changed is not None else None
    return {
        "id": str(lead_id),
        "session_id": str(session_id) if session_id else None,
        "kind": kind,
        "stage": stage,
        "version": int(version or 0),
        "score": int(score),
        "click_ids": {"gclid": gclid, "wbraid": wbraid, "gbraid": gbraid},
        "campaign": {k: v for k, v in campaign.items() if v},
        "phone_number": phone,
        "created_at": _utc(created).isoformat(),
        "stage_changed_at": changed.isoformat() if changed and changed > EPOCH else None,
        "value": value,
        "currency": currency or None,
        "note": note or None,
    }


async def list_leads(
    warehouse: Warehouse,
    site_id: str,
    *,
    since: datetime | None = None,
    stage: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    """Newest first; ``next_cursor`` when more follow."""
    params: dict[str, Any] = {"site": site_id, "limit": limit + 1}
    lead_filter = ""
    if since is not None:
        lead_filter += " AND created_at >= {since:DateTime64(3, 'UTC')}"
        params["since"] = since
    if cursor:
        at, lead_id = decode_cursor(cursor)
        lead_filter += " AND (created_at, lead_id) < ({ct:DateTime64(3, 'UTC')}, {cid:UUID})"
        params.update(ct=at, cid=lead_id)
    sql = _select(lead_filter, "")
    if stage is not None:
        sql += " WHERE current_stage = {stage:String}"
        params["stage"] = stage
    sql += " ORDER BY l.created_at DESC, l.lead_id DESC LIMIT {limit:UInt32}"
    rows = (await warehouse.read(sql, params)).rows
    leads = [lead_json(r) for r in rows[:limit]]
    more = len(rows) > limit
    last = leads[-1] if leads else None
    next_cursor = encode_cursor(datetime.fromisoformat(last["created_at"]), last["id"]) if more and last else None
    return {"leads": leads, "next_cursor": next_cursor}


async def get_lead(warehouse: Warehouse, site_id: str, lead_id: uuid.UUID) -> dict[str, Any] | None:
    """The site's lead, or None (another site's lead is none either)."""
    sql = _select("AND lead_id = {id:UUID}", "AND lead_id = {id:UUID}")
    rows = (await warehouse.read(sql + " LIMIT 1", {"site": site_id, "id": lead_id})).rows
    return lead_json(rows[0]) if rows else None
