"""The local copy of a table in RocksDB: per partition, with the mark its entries reflect."""

from __future__ import annotations

from pathlib import Path

import pytest

from leadstream.streams.runtime.stores import LocalState, Mark


def test_entries_and_marks_come_back_per_partition_after_reopening(tmp_path: Path) -> None:
    state = LocalState(tmp_path / "t.rocksdb")
    state.save([(0, "a", {"n": 1}), (1, "b", {"n": 2}), (1, "c", [1, 2])], {0: Mark(10, 100.0), 1: Mark(20, 200.0)})
    state.save([(1, "b", None), (0, "a", {"n": 3})], {1: Mark(21, 201.0)})  # a delete and an update
    state.close()

    state = LocalState(tmp_path / "t.rocksdb")
    assert state.load(0) == ({"a": {"n": 3}}, Mark(10, 100.0))
    assert state.load(1) == ({"c": [1, 2]}, Mark(21, 201.0))
    assert state.load(2) == ({}, None)
    state.drop(1)
    assert state.load(1) == ({}, None)
    assert state.load(0)[0] == {"a": {"n": 3}}
    state.close()


def test_partition_prefixes_do_not_overlap(tmp_path: Path) -> None:
    state = LocalState(tmp_path / "t.rocksdb")
    state.save([(1, "x", 1), (256, "y", 2), (2, "z", 3)], {1: Mark(0, 0.0), 256: Mark(0, 0.0), 2: Mark(0, 0.0)})
    assert state.load(1)[0] == {"x": 1}
    assert state.load(256)[0] == {"y": 2}
    state.close()


def test_a_second_opener_is_told_what_to_do(tmp_path: Path) -> None:
    state = LocalState(tmp_path / "t.rocksdb")
    with pytest.raises(RuntimeError, match="LEADSTREAM_VAR_DIR"):
        LocalState(tmp_path / "t.rocksdb")
    state.close()
