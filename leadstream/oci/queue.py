"""The offline-conversion queue, kept by the warehouse writer (the store role): the single
process that opens the warehouse serialises every claim and ack in itself (one lock), and each
change is inserted into ``oci_queue`` (a new version of the item's row) before it is answered.

Why here and not on Kafka: a claim must be decided against the queue's latest state (what is
claimed, acked, retried) and be durable before the Script sees it; the writer already owns the
warehouse where the leads and stages are, and a row version per change is that state. A crash
between claim and ack leaves the claim stored: the ack after a restart finds it, and a claim
never acked comes back when it expires (``LEADSTREAM_OCI_CLAIM_TIMEOUT_S``). With several
writers against a ClickHouse server, one of them must serve the OCI endpoints.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import random
import time
import uuid
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from leadstream.oci import rules
from leadstream.oci.rules import Candidate, Item
from leadstream.schemas.conversions import STAGE_RANK
from leadstream.schemas.sites import SiteRecord
from leadstream.storage.tables import OCI_QUEUE, OCI_REPLIES
from leadstream.storage.warehouse import Warehouse

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ITEM_FIELDS = tuple(Item.__dataclass_fields__)

CANDIDATES_SQL = """
SELECT l.lead_id, s.stage, s.value, s.currency, l.gclid, l.wbraid, l.gbraid, l.created_at, l.clicked_at,
       l.session_id, l.fingerprint
FROM (SELECT * FROM lead_stages_v WHERE site_id = {site:String} AND stage IN {stages:Array(String)}) AS s
INNER JOIN (SELECT * FROM leads FINAL WHERE site_id = {site:String}) AS l ON l.lead_id = s.lead_id
"""
ITEMS_SQL = f"SELECT {', '.join(ITEM_FIELDS)} FROM oci_queue FINAL WHERE site_id = {{site:String}}"


class CursorInvalid(ValueError):
    pass


def encode_cursor(item: Item) -> str:
    raw = orjson.dumps({"t": item.conversion_time.isoformat(), "id": item.item_id})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = orjson.loads(raw)
        at = datetime.fromisoformat(data["t"])
        if not isinstance(data["id"], str) or at.tzinfo is None:
            raise TypeError
        return at, data["id"]
    except (binascii.Error, ValueError, TypeError, KeyError, orjson.JSONDecodeError):
        raise CursorInvalid("cursor is not one this server gave") from None


@dataclass
class Page:
    items: list[Item]
    next_cursor: str | None
    counts: dict[str, Any] = field(default_factory=dict)


class AckMismatch(Exception):
    """Some ids are not this site's items."""


class OciQueue:
    def __init__(self, warehouse: Warehouse, claim_timeout_s: float) -> None:
        self._warehouse = warehouse
        self._claim_timeout = timedelta(seconds=claim_timeout_s)
        self._lock = asyncio.Lock()
        self._version = 0

    def _next_version(self) -> int:
        self._version = max(self._version + 1, time.time_ns())
        return self._version

    async def _items(self, site_id: str) -> dict[str, Item]:
        result = await self._warehouse.read(ITEMS_SQL, {"site": site_id})
        items = {}
        for row in result.rows:
            values = dict(zip(ITEM_FIELDS, row, strict=True))
            for name in ("conversion_time", "claimed_until", "next_at", "created_at"):
                if values[name] is not None:
                    values[name] = _utc(values[name])
            if values["claimed_until"] == EPOCH:
                values["claimed_until"] = None
            items[values["item_id"]] = Item(**values)
        return items

    async def _store(self, items: list[Item], now: datetime) -> None:
        """Insert the items' new versions; returns once the warehouse has them."""
        if not items:
            return
        rows = []
        for item in items:
            values = asdict(item)
            values.update(
                claimed_until=item.claimed_until or EPOCH,
                next_at=item.next_at or now,
                created_at=item.created_at or now,
                updated_at=now,
                version=self._next_version(),
            )
            rows.append([values[c] for c in OCI_QUEUE.names])
        await self._warehouse.call(lambda c: c.insert(OCI_QUEUE.name, rows, column_names=list(OCI_QUEUE.names)))

    async def _refresh(self, site: SiteRecord, now: datetime) -> dict[str, Item]:
        """Queue what the leads' current stages make; the site's items afterwards."""
        items = await self._items(site.public_id)
        stages = [s for s in site.conversions.exported if s in STAGE_RANK]
        params = {"site": site.public_id, "stages": stages}
        rows = (await self._warehouse.read(CANDIDATES_SQL, params)).rows if stages else []
        candidates = [candidate(row) for row in rows]
        created, voided = rules.plan(site, candidates, items, now)
        await self._store([*created, *voided], now)
        items.update({i.item_id: i for i in [*created, *voided]})
        return items

    async def refresh(self, site: SiteRecord) -> None:
        async with self._lock:
            await self._refresh(site, datetime.now(UTC))

    async def export(
        self, site: SiteRecord, limit: int, cursor: str | None, claim: bool, run_id: str, now: datetime | None = None
    ) -> Page:
        """A page of due items after ``cursor``, in conversion-time order; claimed when ``claim``
        (stored before this returns)."""
        after = decode_cursor(cursor) if cursor else None
        async with self._lock:
            now = now or datetime.now(UTC)
            items = await self._refresh(site, now)
            due = sorted((i for i in items.values() if rules.due(i, now)), key=lambda i: (i.conversion_time, i.item_id))
            if after is not None:
                due = [i for i in due if (i.conversion_time, i.item_id) > after]
            page = due[:limit]
            if claim:
                page = [rules.claimed(i, run_id, now + self._claim_timeout) for i in page]
                await self._store(page, now)
        more = len(due) > limit
        return Page(page, encode_cursor(page[-1]) if more and page else None, figures(items.values()))

    async def ack(self, site_id: str, ids: list[str], pending_confirmation: bool, run_id: str) -> int:
        """Mark claimed items uploaded; items already terminal count as done. Raises ``AckMismatch``
        when an id is not one of this site's items."""
        async with self._lock:
            now = datetime.now(UTC)
            items = await self._items(site_id)
            unknown = [i for i in ids if i not in items]
            if unknown:
                raise AckMismatch(f"{len(unknown)} of {len(ids)} queueIds are not this site's items")
            changed = [a for i in dict.fromkeys(ids) if (a := rules.acked(items[i], pending_confirmation))]
            await self._store([replace(a, run_id=run_id or a.run_id) for a in changed], now)
            return sum(1 for i in dict.fromkeys(ids) if items[i].status in rules.DONE) + len(changed)

    async def ack_failed(self, site_id: str, ids: list[str], category: str, code: str, message: str) -> int:
        async with self._lock:
            now = datetime.now(UTC)
            items = await self._items(site_id)
            unknown = [i for i in ids if i not in items]
            if unknown:
                raise AckMismatch(f"{len(unknown)} of {len(ids)} queueIds are not this site's items")
            changed = []
            for i in dict.fromkeys(ids):
                after = rules.failed(items[i], category, code[:200], message[:1000], now, random.uniform(0, 60))
                if after is not None:
                    changed.append(after)
            await self._store(changed, now)
            return len(changed)

    async def pending(self, site: SiteRecord, since: datetime | None) -> list[Item]:
        """Every item not uploaded yet (queued, retrying or claimed), for the import CSV; claims nothing."""
        async with self._lock:
            items = await self._refresh(site, datetime.now(UTC))
        waiting = (i for i in items.values() if i.status in (rules.QUEUED, rules.RETRY, rules.PROCESSING))
        chosen = [i for i in waiting if since is None or i.conversion_time >= since]
        return sorted(chosen, key=lambda i: (i.conversion_time, i.item_id))

    async def figures(self) -> dict[str, dict[str, Any]]:
        """Per site: pending, claimed, acked, failed, excluded by reason."""
        sql = "SELECT site_id, status, reason, count() FROM oci_queue FINAL GROUP BY site_id, status, reason"
        rows = (await self._warehouse.read(sql)).rows
        out: dict[str, dict[str, Any]] = {}
        for site_id, status, reason, n in rows:
            add(out.setdefault(site_id, empty_figures()), status, reason, int(n))
        return out

    async def stored_reply(self, site_id: str, payload_hash: str) -> dict[str, Any] | None:
        sql = "SELECT answer FROM oci_replies FINAL WHERE site_id = {site:String} AND payload_hash = {h:String}"
        rows = (await self._warehouse.read(sql, {"site": site_id, "h": payload_hash})).rows
        return orjson.loads(rows[0][0]) if rows else None

    async def store_reply(self, site_id: str, payload_hash: str, answer: dict[str, Any]) -> None:
        row = [site_id, payload_hash, orjson.dumps(answer).decode(), datetime.now(UTC)]
        await self._warehouse.call(lambda c: c.insert(OCI_REPLIES.name, [row], column_names=list(OCI_REPLIES.names)))


def candidate(row: Any) -> Candidate:
    lead_id, stage, value, currency, gclid, wbraid, gbraid, created, clicked, session_id, fingerprint = row
    return Candidate(
        lead_id=lead_id,
        stage=stage,
        value=value,
        currency=currency,
        gclid=gclid,
        wbraid=wbraid,
        gbraid=gbraid,
        created_at=_utc(created),
        clicked_at=_utc(clicked) if clicked is not None else None,
        session_id=session_id,
        fingerprint=fingerprint,
    )


def payload_hash(path: str, body: bytes) -> str:
    return hashlib.sha256(path.encode() + b"\n" + body).hexdigest()


def empty_figures() -> dict[str, Any]:
    return {"pending": 0, "claimed": 0, "acked": 0, "failed": 0, "voided": 0, "excluded": {}}


def add(figures: dict[str, Any], status: str, reason: str, n: int) -> None:
    if status == rules.EXCLUDED:
        figures["excluded"][reason or "other"] = figures["excluded"].get(reason or "other", 0) + n
        return
    name = {
        rules.QUEUED: "pending",
        rules.RETRY: "pending",
        rules.PROCESSING: "claimed",
        rules.UPLOADED: "acked",
        rules.COMPLETED: "acked",
        rules.FAILED: "failed",
        rules.QUARANTINE: "failed",
        rules.VOIDED: "voided",
    }.get(status)
    if name:
        figures[name] += n


def figures(items: Any) -> dict[str, Any]:
    out = empty_figures()
    for item in items:
        add(out, item.status, item.reason, 1)
    return out


def new_run_id() -> str:
    return f"oci_run_{int(time.time() * 1000)}_{uuid.uuid4().hex[:8]}"


def _utc(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
