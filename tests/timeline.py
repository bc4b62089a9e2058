"""When the integration tests' tickets are dated.

Yesterday (UTC): every hour of it has ended, and its records are recent enough for the source
topic's time retention (days). Tickets dated further back would be deleted by the broker within
minutes of being written (time retention compares with a segment's newest record timestamp).
"""

from datetime import UTC, datetime, timedelta

from ticket_etl.interval import CLOCK_SKEW_ALLOWANCE, Interval

RECENT_DAY = (datetime.now(UTC) - timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)


def hour(number: int) -> Interval:
    """The hour ``number`` (0-23) of the recent day. Tests on
    the same broker and artifacts use different hours, and the logical dates of their runs differ too
    (a backfill skips a date that has a run already: `airflow dags test` of hour 1 has the logical
    date 02:00): dags 1 and 5, e2e backfill 9-11, manual 14, late 16, stack security 18, UI 19-20,
    UI backfill 21-22, keyword alerts 23 (the wave), faults 6, 7, 8, 12 and 13,
    broker failure 3, analysis pool 15 (a run left waiting); others use
    topics of their own."""
    return Interval.hour_starting(RECENT_DAY + timedelta(hours=number))


UI_HOURS = [hour(19), hour(20)]
WAVE_HOUR = hour(23)


def in_progress_hour_start(now: datetime) -> datetime:
    """The start of the hour that has not ended at ``now``: in an hour's last minute the clock-skew
    allowance already counts it as ended, so that is the next hour."""
    return (now + CLOCK_SKEW_ALLOWANCE + timedelta(seconds=5)).replace(minute=0, second=0, microsecond=0)
