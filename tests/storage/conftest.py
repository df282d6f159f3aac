"""Event rows for the storage tests (the ``warehouse`` fixture is in tests/conftest.py)."""

import uuid
from datetime import UTC, datetime

from leadstream.schemas.event_view import view_of
from leadstream.schemas.tracking import EventRecord
from leadstream.streams.rows import event_row


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
    return event_row(view_of(EventRecord.model_validate(record | fields)))
