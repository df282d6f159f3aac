"""A migrated embedded warehouse in a database of its own, dropped afterwards; event rows for it."""

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from leadstream.schemas.tracking import EventRecord
from leadstream.settings import Settings
from leadstream.storage.migrations import migrate
from leadstream.storage.warehouse import Warehouse
from leadstream.streams.rows import event_row


@pytest.fixture
def warehouse(settings: Settings) -> Iterator[Warehouse]:
    w = Warehouse(settings.clickhouse_dsn, settings.clickhouse_database)
    w.open()
    w.sync(migrate)
    yield w
    w.sync(lambda c: c.command(f"DROP DATABASE IF EXISTS {settings.clickhouse_database}"))
    w.close()


def event(**fields: object) -> list[object]:
    """An events row as the sink writes it: an interaction of score 10 now, unless ``fields`` say otherwise."""
    received_at = fields.pop("received_at", None) or datetime.now(UTC)
    record = {
        "event_id": uuid.uuid4(),
        "received_at": received_at,
        "site_id": "s",
        "session_id": uuid.uuid4(),
        "session_month": received_at.date().replace(day=1),
        "url": "https://x",
        "category": "interaction",
        "action": "view",
        "score": 10,
    }
    return event_row(EventRecord.model_validate(record | fields))
