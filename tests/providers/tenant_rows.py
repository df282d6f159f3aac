"""Rows of a tenant's companies and signals written straight into a real warehouse's tables, as the
table sinks would write them, for tests of what the OS stages read."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import orjson

from leadstream.storage.warehouse import Warehouse

COMPANY_COLUMNS = [
    "tenant_id",
    "company_id",
    "name",
    "domain",
    "industry",
    "size",
    "linkedin_url",
    "location",
    "data",
    "loaded_at",
    "kafka_partition",
    "kafka_offset",
]
SIGNAL_COLUMNS = [
    "tenant_id",
    "signal_id",
    "company_id",
    "type",
    "source",
    "evidence",
    "confidence",
    "date",
    "data",
    "loaded_at",
    "kafka_partition",
    "kafka_offset",
]


def company(tenant: str, n: int, **fields: Any) -> list[Any]:
    """Company ``c-<n>`` (name ``Company <n>``, domain ``c<n>.ae``, banking, Dubai) with ``fields`` over them;
    ``data`` holds its extra fields."""
    extra = fields.pop("data", {})
    row = {"name": f"Company {n:03d}", "domain": f"c{n:03d}.ae", "industry": "banking", "location": "Dubai", **fields}
    return [
        tenant,
        f"c-{n:03d}",
        row["name"],
        row["domain"],
        row["industry"],
        "",
        "",
        row["location"],
        orjson.dumps(extra).decode(),
        datetime.now(UTC),
        0,
        n,
    ]


def signal(tenant: str, company_n: int, k: int, evidence: str = "hiring") -> list[Any]:
    ids = [f"s-{company_n}-{k}", f"c-{company_n:03d}"]
    return [tenant, *ids, "hiring", "news", evidence, 0.8, "2026-11-01", "{}", datetime.now(UTC), 0, k]


async def insert(warehouse: Warehouse, companies: list[list[Any]], signals: list[list[Any]] | None = None) -> None:
    if companies:
        await warehouse.insert("os_companies", COMPANY_COLUMNS, companies, token=uuid.uuid4().hex)
    if signals:
        await warehouse.insert("os_signals", SIGNAL_COLUMNS, list(signals), token=uuid.uuid4().hex)
