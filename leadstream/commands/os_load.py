"""``leadstream os load``: a tenant's companies or signals from a JSONL or CSV file onto Kafka,
where the worker's table sinks store them for the ``custom`` discovery source."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
from pydantic import ValidationError

from leadstream.kafka.broker import new_producer
from leadstream.schemas.os import OSCompany, OSSignal, company_record, signal_record
from leadstream.settings import Settings

KINDS = {"companies": (OSCompany, company_record), "signals": (OSSignal, signal_record)}


def read_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, row) from JSONL (one object per line) or CSV (a header row)."""
    if path.suffix.lower() == ".csv":
        with path.open(newline="", encoding="utf-8") as f:
            for n, row in enumerate(csv.DictReader(f), start=2):
                yield n, {k: v for k, v in row.items() if v not in ("", None)}
        return
    with path.open("rb") as f:
        for n, line in enumerate(f, start=1):
            if line.strip():
                yield n, orjson.loads(line)


async def load_file(
    settings: Settings, tenant_id: str, kind: str, path: Path, progress: Callable[[int], None] | None = None
) -> tuple[int, list[str]]:
    """Publish every valid row; return how many went and the problems (``line N: why``) of the rest."""
    model, to_record = KINDS[kind]
    problems: list[str] = []
    producer = new_producer(settings, linger_ms=20)
    await producer.start()
    sent = 0
    try:
        pending = []
        for n, row in read_rows(path):
            try:
                key, value = to_record(tenant_id, model.model_validate(row))
            except (ValidationError, TypeError) as exc:
                problems.append(f"line {n}: {str(exc).splitlines()[0]}")
                continue
            pending.append(await producer.send(getattr(settings.topics, f"os_{kind}"), value, key=key))
            sent += 1
            if progress and sent % 500 == 0:
                progress(sent)
        for fut in pending:
            await fut  # all acknowledged before we say so
    finally:
        await producer.stop()
    if progress:
        progress(sent)
    return sent, problems
