"""The collector settings the worker starts with."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from leadstream.commands.heap import WORKER_GC_THRESHOLDS, settle_heap


@pytest.fixture
def restored_gc() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


def test_settling_freezes_what_start_up_left_and_sets_the_thresholds(restored_gc: None) -> None:
    settle_heap(WORKER_GC_THRESHOLDS)
    assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == WORKER_GC_THRESHOLDS


def test_without_thresholds_the_defaults_stay(restored_gc: None) -> None:
    before = gc.get_threshold()
    settle_heap()
    assert gc.get_threshold() == before
