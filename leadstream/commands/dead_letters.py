"""Dead letters for operators: list them from the warehouse, replay them onto their source topic."""

from __future__ import annotations

from collections.abc import Callable

from leadstream.kafka.broker import new_producer
from leadstream.settings import Settings
from leadstream.storage.analyst import analyst_query
from leadstream.storage.warehouse import QueryResult

LIST_COLUMNS = (
    "failed_at, stage, source_topic, source_partition, source_offset, reason, substring(value, 1, 120) AS value"
)


def _where(stage: str | None) -> str:
    if stage is None:
        return ""
    if not stage.replace("-", "").replace("_", "").isalnum():
        raise ValueError("stage must be a plain name, e.g. events")
    return f"WHERE stage = '{stage}'"


def list_dead_letters(settings: Settings, stage: str | None = None, limit: int = 50) -> QueryResult:
    sql = f"SELECT {LIST_COLUMNS} FROM dead_letters_v {_where(stage)} ORDER BY failed_at DESC LIMIT {int(limit)}"
    return analyst_query(settings, sql)


async def replay_dead_letters(
    settings: Settings, stage: str | None = None, limit: int = 10_000, progress: Callable[[int], None] | None = None
) -> int:
    """Publish each dead letter's original key and value to its source topic again.

    A record that still cannot be processed comes back as a new dead letter (new source
    offset); one that now can, goes through like any other record.
    """
    rows = analyst_query(
        settings,
        f"SELECT source_topic, key, value FROM dead_letters_v {_where(stage)} "
        f"ORDER BY source_topic, source_partition, source_offset LIMIT {int(limit)}",
    ).rows
    producer = new_producer(settings)
    await producer.start()
    try:
        for i, (topic, key, value) in enumerate(rows, start=1):
            await producer.send_and_wait(str(topic), str(value).encode(), key=str(key).encode() or None)
            if progress:
                progress(i)
    finally:
        await producer.stop()
    return len(rows)
