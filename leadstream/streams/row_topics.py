"""Rows on their way to the warehouse: the scorer and the matcher publish each row they make
to a topic of its own (``session-rows``, ``call-rows``), and the warehouse writer, the one role
that opens ClickHouse, copies those topics into their tables.

A row is a JSON array in its table's column order, keyed by the row's identity (a session, a
call), so a key's rows stay in order on one partition. Rows are versioned (ReplacingMergeTree),
so a row published again after a crash replaces itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import orjson
from aiokafka.structs import ConsumerRecord

from leadstream.streams.runtime.sink import Poison


def encode_row(row: Sequence[object]) -> bytes:
    return orjson.dumps(row)


class RowReader:
    """A published row back to the values the table takes (date-times parsed again)."""

    def __init__(self, columns: Sequence[str], datetimes: Sequence[str]) -> None:
        self._width = len(columns)
        self._datetimes = [columns.index(c) for c in datetimes]

    def __call__(self, record: ConsumerRecord) -> list[object]:
        try:
            row = orjson.loads(record.value or b"")
        except orjson.JSONDecodeError as exc:
            raise Poison(f"not JSON: {exc}") from None
        if not isinstance(row, list) or len(row) != self._width:
            raise Poison(f"expected a row of {self._width} values")
        try:
            for i in self._datetimes:
                row[i] = datetime.fromisoformat(row[i])
        except (TypeError, ValueError) as exc:
            raise Poison(f"invalid date-time: {exc}") from None
        return row
