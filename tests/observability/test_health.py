"""Loop health verdicts (pure logic, a fake clock)."""

from __future__ import annotations

from leadstream.observability.health import Loops


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def loops(clock: Clock) -> Loops:
    return Loops(stall_s=60, crash_after=3, clock=clock, wall=clock)


def test_a_polling_loop_is_healthy_while_it_polls_and_stuck_without() -> None:
    clock = Clock()
    reg = loops(clock)
    sink = reg.loop("events sink")
    clock.now += 59  # never polled yet: measured from registration
    assert reg.report()["ok"]
    sink.polled()
    clock.now += 30
    report = reg.report()
    assert report["ok"] and report["loops"]["events sink"]["last_poll"] is not None
    clock.now += 31  # 61 s since the last poll
    report = reg.report()
    assert not report["ok"]
    assert report["failing"] == ["events sink: stuck: no poll for 61s (threshold 60s)"]
    sink.polled()
    assert reg.report()["ok"]


def test_crash_looping_until_a_turn_succeeds() -> None:
    clock = Clock()
    reg = loops(clock)
    scorer = reg.loop("session scorer")
    for _ in range(2):
        scorer.polled()  # each restart polls, then fails on the same batch
        scorer.failed(RuntimeError("bad batch"))
    assert reg.report()["ok"]
    scorer.polled()
    scorer.failed(RuntimeError("bad batch"))
    report = reg.report()
    assert report["failing"] == [
        "session scorer: crash-looping: failed 3 times in a row (last: RuntimeError: bad batch)"
    ]
    assert report["loops"]["session scorer"]["restarts"] == 3
    scorer.committed()
    assert reg.report()["ok"]
    assert reg.report()["loops"]["session scorer"]["last_error"] == "RuntimeError: bad batch"


def test_an_idle_turn_also_ends_a_run_of_failures() -> None:
    reg = loops(Clock())
    sink = reg.loop("dead-letters sink")
    for _ in range(3):
        sink.failed("broker gone")
    assert not reg.report()["ok"]
    sink.turned()
    assert reg.report()["ok"]


def test_a_periodic_loop_is_stuck_past_its_period_and_the_threshold() -> None:
    clock = Clock()
    reg = loops(clock)
    refresher = reg.loop("daily stats refresher", kind="periodic", period_s=30)
    clock.now += 89
    assert reg.report()["ok"]
    clock.now += 2
    assert not reg.report()["ok"]
    refresher.polled()
    assert reg.report()["ok"]


def test_the_same_name_is_the_same_loop() -> None:
    reg = loops(Clock())
    assert reg.loop("call matcher") is reg.loop("call matcher")
