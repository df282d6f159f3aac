"""Circuit breaker transitions (SPEC §5.4) on a fake clock, and the per-endpoint policies."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadstream_client.breaker import BREAKER_POLICIES, BreakerPolicy, BreakerState, CircuitBreaker


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def make(clock: FakeClock, **kw: object) -> CircuitBreaker:
    settings: dict = {"failure_threshold": 3, "reset_timeout_s": 10.0, "success_threshold": 2, **kw}
    return CircuitBreaker(now=clock, name="test", **settings)


def open_breaker(b: CircuitBreaker) -> None:
    for _ in range(b.failure_threshold):
        assert b.allow()
        b.record_failure()
    assert b.state is BreakerState.OPEN


def half_open(b: CircuitBreaker, clock: FakeClock) -> None:
    open_breaker(b)
    clock.advance(b.reset_timeout_s)
    assert b.state is BreakerState.HALF_OPEN


def test_starts_closed_and_lets_calls_through(clock: FakeClock) -> None:
    b = make(clock)
    assert b.state is BreakerState.CLOSED
    assert all(b.allow() for _ in range(100))


def test_opens_after_threshold_consecutive_failures(clock: FakeClock) -> None:
    b = make(clock)
    b.record_failure()
    b.record_failure()
    assert b.state is BreakerState.CLOSED
    b.record_failure()
    assert b.state is BreakerState.OPEN
    assert not b.allow()


def test_a_success_resets_the_consecutive_count(clock: FakeClock) -> None:
    b = make(clock)
    b.record_failure()
    b.record_failure()
    b.record_success()
    b.record_failure()
    b.record_failure()
    assert b.state is BreakerState.CLOSED


def test_open_refuses_until_the_reset_timeout_then_half_opens(clock: FakeClock) -> None:
    b = make(clock)
    open_breaker(b)
    clock.advance(9.999)
    assert b.state is BreakerState.OPEN
    assert not b.allow()
    clock.advance(0.001)
    assert b.state is BreakerState.HALF_OPEN
    assert b.allow()


def test_half_open_closes_after_two_successes(clock: FakeClock) -> None:
    b = make(clock)
    half_open(b, clock)
    assert b.allow()
    b.record_success()
    assert b.state is BreakerState.HALF_OPEN
    assert b.allow()
    b.record_success()
    assert b.state is BreakerState.CLOSED


def test_closing_clears_the_failure_count(clock: FakeClock) -> None:
    b = make(clock)
    half_open(b, clock)
    for _ in range(2):
        b.allow()
        b.record_success()
    b.record_failure()
    b.record_failure()
    assert b.state is BreakerState.CLOSED  # a full threshold is needed again


def test_half_open_failure_reopens_and_restarts_the_timeout(clock: FakeClock) -> None:
    b = make(clock)
    half_open(b, clock)
    assert b.allow()
    b.record_success()
    assert b.allow()
    b.record_failure()
    assert b.state is BreakerState.OPEN
    clock.advance(9.0)
    assert b.state is BreakerState.OPEN
    clock.advance(1.0)
    assert b.state is BreakerState.HALF_OPEN


def test_half_open_admits_only_success_threshold_trial_calls(clock: FakeClock) -> None:
    b = make(clock)
    half_open(b, clock)
    assert b.allow()
    assert b.allow()
    assert not b.allow()  # two trials in flight already
    b.record_success()
    assert b.allow()  # a slot was freed


def test_half_open_max_calls_is_configurable(clock: FakeClock) -> None:
    b = make(clock, half_open_max_calls=1)
    half_open(b, clock)
    assert b.allow()
    assert not b.allow()


def test_release_frees_a_trial_slot_without_an_outcome(clock: FakeClock) -> None:
    b = make(clock, half_open_max_calls=1)
    half_open(b, clock)
    assert b.allow()
    assert not b.allow()
    b.release()
    assert b.state is BreakerState.HALF_OPEN
    assert b.allow()


def test_outcomes_while_open_are_ignored(clock: FakeClock) -> None:
    b = make(clock)
    open_breaker(b)
    clock.advance(5.0)
    b.record_failure()  # a call admitted before the breaker opened
    b.record_success()
    assert b.state is BreakerState.OPEN
    clock.advance(5.0)
    assert b.state is BreakerState.HALF_OPEN  # the timeout was not restarted


def test_stale_outcomes_never_make_in_flight_negative(clock: FakeClock) -> None:
    b = make(clock, half_open_max_calls=1)
    half_open(b, clock)
    b.release()
    b.release()
    assert b.allow()
    assert not b.allow()


def test_reset_closes(clock: FakeClock) -> None:
    b = make(clock)
    open_breaker(b)
    b.reset()
    assert b.state is BreakerState.CLOSED
    assert b.allow()


def test_zero_reset_timeout_half_opens_at_once(clock: FakeClock) -> None:
    b = make(clock, reset_timeout_s=0)
    for _ in range(3):
        b.record_failure()
    assert b.state is BreakerState.HALF_OPEN


def test_snapshot(clock: FakeClock) -> None:
    b = make(clock)
    b.record_failure()
    assert b.snapshot() == {
        "name": "test",
        "state": "CLOSED",
        "consecutive_failures": 1,
        "half_open_successes": 0,
        "half_open_in_flight": 0,
        "open_remaining_s": 0.0,
    }
    b.record_failure()
    b.record_failure()
    clock.advance(4.0)
    snap = b.snapshot()
    assert snap["state"] == "OPEN"
    assert snap["open_remaining_s"] == pytest.approx(6.0)


@pytest.mark.parametrize(
    "kw",
    [
        {"failure_threshold": 0},
        {"success_threshold": 0},
        {"half_open_max_calls": 0},
        {"reset_timeout_s": -1},
    ],
)
def test_rejects_invalid_settings(clock: FakeClock, kw: dict) -> None:
    with pytest.raises(ValueError):
        make(clock, **kw)


@given(st.lists(st.booleans(), max_size=40))
def test_opens_exactly_when_threshold_failures_run_consecutively(outcomes: list[bool]) -> None:
    b = CircuitBreaker(failure_threshold=3, reset_timeout_s=60, now=lambda: 0.0)
    run = 0
    opened = False
    for ok in outcomes:
        if opened:
            break
        if ok:
            b.record_success()
        else:
            b.record_failure()
        run = 0 if ok else run + 1
        opened = run >= 3
        assert (b.state is BreakerState.OPEN) == opened


def test_policies_follow_the_contract_table() -> None:
    table = {name: (p.retries, p.request_timeout_s) for name, p in BREAKER_POLICIES.items()}
    assert table == {
        "score": (2, 15.0),
        "discovery": (2, 30.0),
        "discovery_v2": (2, 30.0),
        "outreach": (2, 20.0),
        "pipeline": (1, 65.0),
        # the SaaS's other calls, as its client ships them
        "intelligence_session": (2, 30.0),
        "intelligence_feedback": (1, 10.0),
        "deal_evaluation": (2, 10.0),
        "enrich": (0, 10.0),
    }
    assert all(p.success_threshold == 2 for p in BREAKER_POLICIES.values())
    assert BREAKER_POLICIES["discovery"].failure_threshold == 3
    assert BREAKER_POLICIES["discovery"].reset_timeout_s == 60.0


def test_policy_builds_its_breaker(clock: FakeClock) -> None:
    policy = BreakerPolicy(failure_threshold=2, reset_timeout_s=5.0, retries=0, request_timeout_s=1.0)
    b = policy.breaker(now=clock, name="x")
    assert (b.name, b.failure_threshold, b.reset_timeout_s, b.success_threshold) == ("x", 2, 5.0, 2)
    b.record_failure()
    b.record_failure()
    assert b.state is BreakerState.OPEN
    clock.advance(5.0)
    assert b.state is BreakerState.HALF_OPEN
