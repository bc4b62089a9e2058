"""The hour as a value: one millisecond conversion, tokens, and when an hour counts as ended."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pendulum
import pytest

from ticket_etl.interval import (
    CLOCK_SKEW_ALLOWANCE,
    HourNotEndedError,
    Interval,
    interval_of_token,
    to_epoch_ms,
)

HOUR = Interval(datetime(2026, 11, 28, 4, tzinfo=UTC), datetime(2026, 11, 28, 5, tzinfo=UTC))


def test_epoch_ms_rounds_up_so_the_half_open_test_is_exact() -> None:
    start = datetime(2026, 11, 28, 4, 0, 0, 1500, tzinfo=UTC)  # 1.5 ms after the hour
    assert to_epoch_ms(start) == to_epoch_ms(HOUR.start) + 2
    assert Interval(start, HOUR.end).start_ms == to_epoch_ms(start)


def test_airflow_datetimes_become_plain_utc_datetimes() -> None:
    interval = Interval(
        pendulum.datetime(2026, 11, 28, 5, tz="Europe/Paris"), pendulum.datetime(2026, 11, 28, 6)
    )
    assert type(interval.start) is datetime and interval.start == datetime(2026, 11, 28, 4, tzinfo=UTC)
    assert interval.start_ms == to_epoch_ms(datetime(2026, 11, 28, 4, tzinfo=UTC))


def test_token_round_trips() -> None:
    assert HOUR.token == "20261128T0400Z_20261128T0500Z"
    assert interval_of_token(HOUR.token) == HOUR
    assert interval_of_token("not-a-token") is None


def test_an_hour_has_ended_at_its_end_with_an_allowance_for_clock_skew() -> None:
    assert HOUR.has_ended(HOUR.end)
    assert HOUR.has_ended(HOUR.end - CLOCK_SKEW_ALLOWANCE)  # the worker's clock a little behind
    assert not HOUR.has_ended(HOUR.end - CLOCK_SKEW_ALLOWANCE - timedelta(seconds=1))
    with pytest.raises(
        HourNotEndedError, match=r"the hour \[2026-11-28T04:00:00Z, 2026-11-28T05:00:00Z\) has not ended"
    ):
        HOUR.require_ended(HOUR.start + timedelta(minutes=30))
