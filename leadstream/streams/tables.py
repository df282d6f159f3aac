"""Faust tables keyed like the topics that feed them."""

from __future__ import annotations

import faust

from leadstream.settings import Settings


def keyed_table(app: faust.App, name: str, settings: Settings) -> faust.Table:
    """A table whose raw string keys go through the producer's partitioner, exactly as the
    records of its source topic do: a key's changelog partition is the partition its records
    arrive on, so recovery puts state where the stream is."""
    return app.Table(
        name,
        default=None,
        partitions=settings.topic_partitions,
        schema=faust.Schema(key_type=str, key_serializer="raw", value_serializer="json"),
        use_partitioner=True,
    )


async def changelog_durable(app: faust.App) -> None:
    """Wait until every table change made so far is acknowledged by Kafka.

    Call before acking the events that made the changes. Faust's commit flushes its producer
    buffer first, but that flush gives up after 0.1 s without progress and the commit goes
    ahead; a worker killed then has committed offsets whose table changes never reached the
    changelog, and its state is short after recovery (the gap behind a kill -9 drill that found
    the session counts short by 2,473 of 16,300 events)."""
    producer = app.producer
    while producer.buffer.size:
        await producer.buffer.flush()
    await producer.flush()
