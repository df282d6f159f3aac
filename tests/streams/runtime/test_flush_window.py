"""The flush window follows what batches take, within its floor and ceiling."""

from leadstream.streams.runtime.group import FlushWindow


def test_quick_batches_keep_the_window_at_its_floor() -> None:
    window = FlushWindow(ceiling_s=1.0)
    assert window.seconds == 0.1
    window.took(0.004)
    assert window.seconds == 0.1


def test_slow_batches_widen_it_up_to_the_ceiling_and_it_narrows_again() -> None:
    window = FlushWindow(ceiling_s=1.0)
    window.took(0.3)
    assert window.seconds == 0.3  # as long as the last batch took
    window.took(2.0)
    assert window.seconds == 1.0
    window.took(0.02)
    assert window.seconds == 0.1


def test_a_ceiling_below_the_floor_wins() -> None:
    window = FlushWindow(ceiling_s=0.01)
    window.took(5)
    assert window.seconds == 0.01
