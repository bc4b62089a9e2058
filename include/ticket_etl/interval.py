"""The hour a run processes: a half-open UTC interval, and the one conversion of a time to the
epoch milliseconds that Kafka timestamps use (the producer and the Spark job share it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

TOKEN_FORMAT = "%Y%m%dT%H%MZ"
SPARK_TOKEN_FORMAT = "yyyyMMdd'T'HHmm'Z'"  # the same, in Spark's datetime pattern language
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# An hour counts as ended when its end is at most this far after the clock of the machine that
# asks: the scheduler starts the 05:00 run at 05:00 by its own clock, and the worker's clock may
# be a little behind it. Records that arrive after a run are late records, handled as such.
CLOCK_SKEW_ALLOWANCE = timedelta(seconds=60)
HOUR = timedelta(hours=1)
SCHEDULED_RUN_TYPES = frozenset({"scheduled", "backfill"})


class HourNotEndedError(ValueError):
    """An interval that has not ended (or ends in the future) was given for processing."""


def as_utc(moment: datetime) -> datetime:
    """``moment`` as a plain ``datetime`` in UTC (a naive one is taken as UTC; a subclass such as
    the pendulum DateTime that Airflow hands out becomes a plain ``datetime``)."""
    utc = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return datetime(*utc.timetuple()[:6], utc.microsecond, tzinfo=UTC)


def to_epoch_ms(moment: datetime) -> int:
    """Milliseconds since the epoch, rounded up; a naive datetime is taken as UTC.

    Rounding up makes the test on whole milliseconds exact: a Kafka timestamp ``t`` lies in
    ``[start, end)`` exactly when ``to_epoch_ms(start) <= t < to_epoch_ms(end)``, even when the
    bounds carry microseconds (and without the float error of ``timestamp() * 1000``).
    """
    return -(-((as_utc(moment) - _EPOCH) // timedelta(microseconds=1)) // 1000)


def iso_utc(moment: datetime) -> str:
    """``2026-11-28T04:00:00Z`` (microseconds kept when present)."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_utc(text: str) -> datetime:
    """An ISO-8601 date-time in UTC; one without an offset is taken as UTC."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"not an ISO-8601 time: {text!r}") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def interval_of_token(token: str) -> Interval | None:
    """The interval of a partition value (:attr:`Interval.token`), or None if it is not one."""
    try:
        start, end = (datetime.strptime(part, TOKEN_FORMAT).replace(tzinfo=UTC) for part in token.split("_"))
        return Interval(start, end)
    except ValueError:
        return None


@dataclass(frozen=True)
class Interval:
    """A half-open UTC time interval [start, end): what a run processes, passed as one value from
    the DAG's ``resolve_interval`` task to the Spark job's read (Airflow serializes it as a
    dataclass; the DAG allows the class for deserialization)."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        for name in ("start", "end"):
            moment = getattr(self, name)
            if moment.tzinfo is None:
                raise ValueError(f"interval bounds must be timezone-aware, got {moment!r}")
            object.__setattr__(self, name, as_utc(moment))
        if self.end <= self.start:
            raise ValueError(
                f"interval end {self.end.isoformat()} must be after start {self.start.isoformat()}"
            )

    @classmethod
    def parse(cls, start: str, end: str) -> Interval:
        """From ISO-8601 strings; a time without offset is taken as UTC."""
        return cls(parse_utc(start), parse_utc(end))

    @classmethod
    def hour_before(cls, moment: datetime) -> Interval:
        """The last complete hour before ``moment`` (floored to the hour)."""
        end = moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        return cls(end - timedelta(hours=1), end)

    @classmethod
    def hour_starting(cls, start: datetime) -> Interval:
        """The hour that starts at ``start``."""
        return cls(start, start + timedelta(hours=1))

    def hours_before(self, count: int) -> list[Interval]:
        """The ``count`` hours before this one, the nearest first."""
        return [Interval.hour_starting(self.start - timedelta(hours=back)) for back in range(1, count + 1)]

    def hours_after(self, count: int) -> list[Interval]:
        """The ``count`` hours after this one, the nearest first."""
        return [Interval.hour_starting(self.start + timedelta(hours=ahead)) for ahead in range(1, count + 1)]

    @property
    def start_ms(self) -> int:
        return to_epoch_ms(self.start)

    @property
    def end_ms(self) -> int:
        return to_epoch_ms(self.end)

    @property
    def token(self) -> str:
        """Partition value: ``20261128T0400Z_20261128T0500Z``."""
        return f"{self.start.astimezone(UTC):{TOKEN_FORMAT}}_{self.end.astimezone(UTC):{TOKEN_FORMAT}}"

    @property
    def is_one_hour(self) -> bool:
        """Exactly one UTC hour, starting on the hour (what a run processes)."""
        start = self.start.astimezone(UTC)
        return start == start.replace(minute=0, second=0, microsecond=0) and self.end - self.start == HOUR

    def as_dict(self) -> dict[str, str]:
        return {"start": iso_utc(self.start), "end": iso_utc(self.end)}

    def __str__(self) -> str:
        return f"[{iso_utc(self.start)}, {iso_utc(self.end)})"

    def has_ended(self, now: datetime | None = None) -> bool:
        """True when the interval ended by ``now`` (default: the clock), with the allowance for
        clock skew (:data:`CLOCK_SKEW_ALLOWANCE`)."""
        return self.end <= as_utc(now or datetime.now(UTC)) + CLOCK_SKEW_ALLOWANCE

    def require_ended(self, now: datetime | None = None) -> Interval:
        """This interval, or :class:`HourNotEndedError` when it has not ended: processing an hour
        in progress would publish a part of it as if it were complete."""
        now = as_utc(now or datetime.now(UTC))
        if not self.has_ended(now):
            raise HourNotEndedError(
                f"the hour {self} has not ended (it is {iso_utc(now.replace(microsecond=0))} now): "
                "an hour is processed once it is over"
            )
        return self


def hour_of_run(
    run_type: object,
    data_interval_start: datetime | None,
    data_interval_end: datetime | None,
    reference: datetime,
    interval_start: str | None = None,
) -> Interval:
    """The hour a ``ticket_pipeline`` run processes, decided once for its task and the UI
    (``run_type``: a name or Airflow's ``DagRunType``):

    - ``interval_start`` (the run's param) set: that hour (it must be on the hour);
    - scheduled and backfill runs: their data interval (the run at 05:00 covers 04:00-05:00);
    - manual runs: the last complete hour before ``reference`` (their logical date, else the
      trigger time; a manual run's own data interval is not aligned on the hour).

    ``ValueError`` for a malformed ``interval_start``, :class:`HourNotEndedError` for an hour
    that has not ended."""
    if interval_start:
        hour = Interval.hour_starting(_on_the_hour(interval_start))
    elif (
        str(getattr(run_type, "value", run_type)) in SCHEDULED_RUN_TYPES
        and data_interval_start
        and data_interval_end
    ):
        hour = Interval(data_interval_start, data_interval_end)
    else:
        hour = Interval.hour_before(reference)
    return hour.require_ended()


def _on_the_hour(text: str) -> datetime:
    try:
        moment = parse_utc(text)
    except ValueError as error:
        raise ValueError(f"interval_start: {error}") from None
    if (moment.minute, moment.second, moment.microsecond) != (0, 0, 0):
        raise ValueError(f"interval_start must be on the hour (e.g. 2026-11-28T04:00:00Z), got {text!r}")
    return moment
