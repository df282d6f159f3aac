"""Keyed state with a changelog: the interface the writers and the expiry sweep use (the
session scorer's and the call matcher's ``ChangelogTable``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

import orjson

from leadstream.streams.runtime.producer import BulkProducer


class KeyedState(Protocol):
    """String keys to JSON-safe entries, every change also written to a changelog topic."""

    @property
    def name(self) -> str: ...
    @property
    def changelog(self) -> str: ...  # the changelog topic's name

    def get(self, key: str) -> Any | None: ...
    def keys(self) -> list[str]: ...
    def delete(self, key: str) -> None: ...
    def changelogged(self, entries: list[tuple[str, Any | None]], offsets: dict[int, int]) -> None:
        """The changelog has acknowledged these records, its last ones per partition at ``offsets``."""


async def write_changelog(state: KeyedState, bulk: BulkProducer, keys: Iterable[str]) -> None:
    """Send the changelog records of ``keys``' current entries in bulk and wait for the acks.

    Writers put a batch's entries into the table, then call this once, before committing the
    offsets of the records that made the changes: a crash in between leaves those records to
    be read again, never a committed change missing from the changelog."""
    await send_changelog(state, bulk, [(key, state.get(key)) for key in keys])


async def send_changelog(state: KeyedState, bulk: BulkProducer, entries: Iterable[tuple[str, object]]) -> None:
    """Send (key, entry) changelog records, an entry of None being a tombstone (the key deleted)."""
    # JSON-encoded keys (as the Faust tables of earlier versions wrote them), on the partition of
    # the raw key: the one the source topic's records for that key arrive on.
    entries = list(entries)
    records = [
        (key.encode(), orjson.dumps(key), None if entry is None else orjson.dumps(entry)) for key, entry in entries
    ]
    if not records:
        return
    state.changelogged(entries, await bulk.send(state.changelog, records))


async def drop_entries(state: KeyedState, bulk: BulkProducer, keys: Iterable[str]) -> None:
    """Tombstone ``keys`` in the changelog (acknowledged), then remove their entries."""
    keys = list(keys)
    await send_changelog(state, bulk, [(key, None) for key in keys])
    for key in keys:
        state.delete(key)
