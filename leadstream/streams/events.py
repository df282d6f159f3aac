"""The events agent: tracking events from Kafka into the ``events`` table, a batch at a time."""

from __future__ import annotations

import logging

import faust
from pydantic import ValidationError

from leadstream.schemas.tracking import EventRecord
from leadstream.settings import Settings
from leadstream.streams.rows import EVENT_COLUMNS, dedup_token, event_row
from leadstream.streams.sink import WarehouseSink

log = logging.getLogger(__name__)


def register_event_agent(app: faust.App, topic: faust.TopicT, sink: WarehouseSink, settings: Settings) -> None:
    # concurrency=1: with more, faust-streaming can commit past an in-flight message (#606).
    @app.agent(topic, concurrency=1, name="store_events")
    async def store_events(stream: faust.StreamT) -> None:
        async for batch in stream.noack_take(settings.sink_batch_rows, within=settings.sink_flush_s):
            rows: list[list[object]] = []
            spans: dict[int, tuple[int, int]] = {}
            for event in batch:
                msg = event.message
                lo, hi = spans.get(msg.partition, (msg.offset, msg.offset))
                spans[msg.partition] = (min(lo, msg.offset), max(hi, msg.offset))
                try:
                    record = EventRecord.model_validate_json(msg.value)
                except ValidationError as exc:
                    # Dead-lettering arrives with the stream-processing work; never crash the stream.
                    log.error(
                        "skipping malformed event at %s[%d]@%d: %s",
                        msg.topic,
                        msg.partition,
                        msg.offset,
                        exc.errors()[0]["msg"],
                    )
                    continue
                rows.append(event_row(record, msg.partition, msg.offset))
            await sink.write("events", EVENT_COLUMNS, rows, dedup_token(topic.get_topic_name(), spans))
            for event in batch:  # only now may these offsets be committed
                await stream.ack(event)
