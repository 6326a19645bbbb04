"""The circuit breaker: opens after N failures in a row, lets one trial through after a cooldown, closes on success."""

from __future__ import annotations

import concurrent.futures
from collections.abc import Hashable

import pytest

from diagnostics.breaker import Breakers, FailureKind, Paused, Ticket

KEY = ("read", "222222222222")
OTHER = ("read", "444455556666")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def _breakers(clock: Clock, changes: list[tuple[Hashable, Paused | None]] | None = None) -> Breakers:
    def record(key: Hashable, paused: Paused | None) -> None:
        if changes is not None:
            changes.append((key, paused))

    return Breakers(threshold=3, cooldown=240.0, clock=clock, on_change=record)


def _fail(breakers: Breakers, times: int, kind: FailureKind = FailureKind.ASSUME_ROLE) -> None:
    for n in range(times):
        breakers.failed(KEY, kind, f"failure {n + 1}")


def test_calls_pass_until_the_threshold_of_failures_in_a_row(clock: Clock) -> None:
    breakers = _breakers(clock)
    _fail(breakers, 2)
    assert breakers.admit(KEY) == Ticket(KEY)
    breakers.failed(KEY, FailureKind.ASSUME_ROLE, "the third")
    assert breakers.admit(KEY) == Paused(3, frozenset({FailureKind.ASSUME_ROLE}), "the third", 240.0)
    # Other keys are not affected.
    assert breakers.admit(OTHER) == Ticket(OTHER)


def test_an_answer_in_between_resets_the_count(clock: Clock) -> None:
    breakers = _breakers(clock)
    _fail(breakers, 2)
    breakers.succeeded(KEY)
    _fail(breakers, 2)
    assert isinstance(breakers.admit(KEY), Ticket)


def test_the_pause_counts_down_and_names_every_kind_of_failure(clock: Clock) -> None:
    breakers = _breakers(clock)
    breakers.failed(KEY, FailureKind.ASSUME_ROLE, "could not assume")
    _fail(breakers, 2, FailureKind.UNAVAILABLE)
    clock.now += 100
    paused = breakers.admit(KEY)
    assert paused == Paused(3, frozenset(FailureKind), "failure 2", 140.0)
    assert breakers.paused() == {KEY: paused}


def test_after_the_cooldown_one_trial_goes_and_the_others_wait_for_it(clock: Clock) -> None:
    changes: list[tuple[Hashable, Paused | None]] = []
    breakers = _breakers(clock, changes)
    _fail(breakers, 3)
    clock.now += 240
    trial = breakers.admit(KEY)
    assert isinstance(trial, Ticket)
    assert trial.trial is not None
    waiting = breakers.admit(KEY)
    assert isinstance(waiting, concurrent.futures.Future)
    assert not waiting.done()

    breakers.succeeded(KEY)

    assert waiting.done()
    assert breakers.admit(KEY) == Ticket(KEY)
    assert breakers.paused() == {}
    assert [paused is None for _, paused in changes] == [False, True]


def test_a_failed_trial_pauses_again_for_a_whole_cooldown(clock: Clock) -> None:
    breakers = _breakers(clock)
    _fail(breakers, 3)
    clock.now += 300
    trial = breakers.admit(KEY)
    waiting = breakers.admit(KEY)
    assert isinstance(trial, Ticket)
    assert isinstance(waiting, concurrent.futures.Future)

    breakers.failed(KEY, FailureKind.ASSUME_ROLE, "still broken")

    assert waiting.done()
    assert breakers.admit(KEY) == Paused(4, frozenset({FailureKind.ASSUME_ROLE}), "still broken", 240.0)
    breakers.release(trial)
    assert isinstance(breakers.admit(KEY), Paused)


def test_a_trial_that_ends_without_an_outcome_hands_the_trial_on(clock: Clock) -> None:
    breakers = _breakers(clock)
    _fail(breakers, 3)
    clock.now += 240
    trial = breakers.admit(KEY)
    waiting = breakers.admit(KEY)
    assert isinstance(trial, Ticket)
    assert isinstance(waiting, concurrent.futures.Future)

    breakers.release(trial)

    assert waiting.done()
    second = breakers.admit(KEY)
    assert isinstance(second, Ticket)
    assert second.trial is not None
    assert second.trial is not trial.trial
    # The first trial's late release does not disturb the second.
    breakers.release(trial)
    assert isinstance(breakers.admit(KEY), concurrent.futures.Future)


def test_a_late_answer_from_before_the_pause_does_not_lift_it(clock: Clock) -> None:
    breakers = _breakers(clock)
    _fail(breakers, 3)
    breakers.succeeded(KEY)
    assert isinstance(breakers.admit(KEY), Paused)


def test_opening_and_closing_are_reported_once_each(clock: Clock) -> None:
    changes: list[tuple[Hashable, Paused | None]] = []
    breakers = _breakers(clock, changes)
    _fail(breakers, 5)
    assert changes == [(KEY, Paused(3, frozenset({FailureKind.ASSUME_ROLE}), "failure 3", 240.0))]
    clock.now += 240
    breakers.admit(KEY)
    breakers.succeeded(KEY)
    breakers.succeeded(KEY)
    assert changes[1:] == [(KEY, None)]


def test_nonsense_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="threshold"):
        Breakers(threshold=0, cooldown=1.0, clock=Clock())
