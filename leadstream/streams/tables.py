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
