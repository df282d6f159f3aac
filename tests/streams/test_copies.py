"""The events sink's look-up of re-sent tracker events, on a real chDB."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import orjson
from aiokafka.structs import ConsumerRecord

from leadstream.storage.warehouse import Warehouse
from leadstream.streams.copies import events_stored_before
from leadstream.streams.rows import EVENT_COLUMNS
from tests.storage.conftest import event


def consumer_record(offset: int, resent: bool) -> ConsumerRecord:
    value = orjson.dumps({"resent": resent})
    return ConsumerRecord("events", 0, offset, 0, 0, None, value, None, 0, len(value), ())


async def test_only_resends_already_stored_are_skipped(warehouse: Warehouse) -> None:
    yesterday = datetime.now(UTC) - timedelta(days=1)
    stored = event(received_at=yesterday)  # the first send landed yesterday
    await warehouse.insert("events", EVENT_COLUMNS, [stored], token=uuid.uuid4().hex)

    now = datetime.now(UTC)
    again = event(event_id=stored[0], received_at=now)  # its re-send, today
    fresh_resend = event(received_at=now)  # a re-send whose first send never arrived
    plain = event(event_id=stored[0], received_at=now)  # not marked: not looked up
    twice = event(received_at=now)
    twice_again = event(event_id=twice[0], received_at=now)  # the re-send in the same batch
    rows = [again, fresh_resend, plain, twice, twice_again]
    records = [consumer_record(i, resent) for i, resent in enumerate([True, True, False, False, True])]

    assert await events_stored_before(warehouse, records, rows) == {0, 4}


async def test_no_resends_no_query(warehouse: Warehouse) -> None:
    warehouse.read = None  # type: ignore[method-assign,assignment]  # a look-up would fail
    assert await events_stored_before(warehouse, [consumer_record(0, False)], [event()]) == set()
