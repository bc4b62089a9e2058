"""What the records view of a topic is asked for: filters (key, header, JSON field, time range),
where to read from (the latest records, or forward from an offset or a time) and how many records
to scan, parsed from the page's query parameters; and whether one record matches.

Pure functions of strings and bytes (no Kafka): :mod:`~ticket_airflow.ui.topics` applies them to
the records it reads. What each filter accepts is in ``docs/console.md``:

- ``key``: a substring of the record's key (case-sensitive; a keyless record never matches);
- ``header``: ``name=value``, a header called ``name`` whose value is exactly ``value`` (``name``
  alone: the header is present); repeated, every one must match;
- ``field``: ``path=value``, the JSON value's field at ``path`` (dots go into objects:
  ``customer.tier=gold``) equals ``value``: a string exactly, a number as a number (``3`` or ``3.0``),
  a boolean or null as written in JSON (``priority_score=3``, ``escalated=true``, ``assignee=null``), a list when one of its
  elements does; repeated, every one must match;
- ``from`` / ``to``: ISO-8601 times, the Kafka timestamp at or after ``from`` and before ``to``;
- ``seek``: ``earliest``, an offset, or an ISO-8601 time: read forward from there instead of
  showing the latest records.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ticket_etl.interval import iso_utc, parse_utc, to_epoch_ms

MAX_FILTER_TEXT = 500
EARLIEST = "earliest"
_MISSING = object()


class QueryError(ValueError):
    """A parameter of the records view is wrong; the message names it and what it accepts."""


@dataclass(frozen=True)
class Seek:
    """Where a forward read starts in each partition: the earliest offset, an offset, or the first
    record timestamped at or after a time (``offsets_for_times``)."""

    offset: int | None = None
    time: datetime | None = None

    @property
    def earliest(self) -> bool:
        return self.offset is None and self.time is None

    def as_dict(self) -> dict[str, Any]:
        if self.time is not None:
            return {"time": iso_utc(self.time)}
        return {"offset": self.offset} if self.offset is not None else {"offset": EARLIEST}


@dataclass(frozen=True)
class RecordQuery:
    """Filters of the records view and where to read (``seek`` None: the latest records)."""

    key: str | None = None
    headers: tuple[tuple[str, str | None], ...] = ()
    fields: tuple[tuple[tuple[str, ...], str], ...] = ()
    start: datetime | None = None
    end: datetime | None = None
    seek: Seek | None = None
    scan: int | None = None  # records to read per partition (None: the view's default)
    _start_ms: int | None = field(default=None, init=False, repr=False, compare=False)
    _end_ms: int | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_start_ms", to_epoch_ms(self.start) if self.start else None)
        object.__setattr__(self, "_end_ms", to_epoch_ms(self.end) if self.end else None)

    @property
    def filtered(self) -> bool:
        """Whether any filter is set (a view without one reads only the records it shows)."""
        return bool(self.key or self.headers or self.fields or self.start or self.end)

    @property
    def start_ms(self) -> int | None:
        return self._start_ms

    def matches(
        self,
        key: bytes | None,
        headers: Sequence[tuple[str, bytes | None]] | None,
        value: bytes | None,
        timestamp_ms: int | None,
    ) -> bool:
        """Whether a record (its raw key, headers, value and timestamp; None: no timestamp) passes
        every filter."""
        if self._start_ms is not None or self._end_ms is not None:
            if timestamp_ms is None:
                return False
            if self._start_ms is not None and timestamp_ms < self._start_ms:
                return False
            if self._end_ms is not None and timestamp_ms >= self._end_ms:
                return False
        if self.key is not None and (key is None or self.key not in _text(key)):
            return False
        if self.headers and not _headers_match(self.headers, headers or ()):
            return False
        return not self.fields or _fields_match(self.fields, value)

    def as_dict(self) -> dict[str, Any]:
        """The query as the page's parameters say it (echoed by the JSON answers)."""
        return {
            "key": self.key,
            "header": [name if value is None else f"{name}={value}" for name, value in self.headers],
            "field": [".".join(path) + "=" + value for path, value in self.fields],
            "from": iso_utc(self.start) if self.start else None,
            "to": iso_utc(self.end) if self.end else None,
            "seek": self.seek.as_dict() if self.seek else None,
            "scan": self.scan,
        }


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="backslashreplace")


def _headers_match(
    wanted: tuple[tuple[str, str | None], ...], headers: Sequence[tuple[str, bytes | None]]
) -> bool:
    present = [(name, None if value is None else _text(value)) for name, value in headers]
    for name, value in wanted:
        if not any(n == name and (value is None or v == value) for n, v in present):
            return False
    return True


def _fields_match(wanted: tuple[tuple[tuple[str, ...], str], ...], value: bytes | None) -> bool:
    if value is None:
        return False
    try:
        document = json.loads(value)
    except ValueError:
        return False
    return all(field_matches(document, path, expected) for path, expected in wanted)


def field_matches(document: Any, path: tuple[str, ...], expected: str) -> bool:
    """Whether ``document``'s field at ``path`` equals ``expected``: a string exactly; a number,
    boolean or null as written in JSON; a list when one of its elements does."""
    found: Any = document
    for part in path:
        if not isinstance(found, dict):
            return False
        found = found.get(part, _MISSING)
        if found is _MISSING:
            return False
    candidates = found if isinstance(found, list) else [found]
    return any(_same(candidate, expected) for candidate in candidates)


def _same(candidate: Any, expected: str) -> bool:
    if isinstance(candidate, str):
        return candidate == expected
    if isinstance(candidate, dict | list):
        return False
    if isinstance(candidate, int | float) and not isinstance(candidate, bool):
        try:
            return candidate == float(expected)
        except ValueError:
            return False
    return json.dumps(candidate) == expected


def _bounded(name: str, text: str) -> str:
    if not text or len(text) > MAX_FILTER_TEXT:
        raise QueryError(f"{name}: give 1 to {MAX_FILTER_TEXT} characters")
    return text


def parse_header(text: str) -> tuple[str, str | None]:
    """``name=value`` (the value may be empty) or ``name`` (the header is present)."""
    text = _bounded("header", text)
    name, equals, value = text.partition("=")
    if not name:
        raise QueryError(f"header={text!r}: give name=value (e.g. schema_version=2) or a header name")
    return name, value if equals else None


def parse_field(text: str) -> tuple[tuple[str, ...], str]:
    """``path=value``: a dotted path into the JSON value and the value it must have."""
    text = _bounded("field", text)
    path, equals, value = text.partition("=")
    parts = tuple(path.split("."))
    if not equals or not all(parts):
        raise QueryError(
            f"field={text!r}: give path=value, e.g. priority=critical or support_team=incident "
            "(dots go into objects: customer.tier=gold)"
        )
    return parts, value


def parse_time(name: str, text: str) -> datetime:
    try:
        return parse_utc(text)
    except ValueError:
        raise QueryError(f"{name}={text!r} is not an ISO-8601 time (e.g. 2026-11-26T08:00:00Z)") from None


def parse_seek(text: str) -> Seek:
    """``earliest``, an offset (0 or more) or an ISO-8601 time."""
    text = text.strip()
    if text == EARLIEST:
        return Seek()
    if text.lstrip("-").isdigit():
        offset = int(text)
        if offset < 0:
            raise QueryError(f"seek={text}: an offset is 0 or more")
        return Seek(offset=offset)
    try:
        return Seek(time=parse_utc(text))
    except ValueError:
        raise QueryError(
            f"seek={text!r}: give earliest, an offset (e.g. 1200) or an ISO-8601 time (e.g. 2026-11-26T08:00Z)"
        ) from None


def parse_query(
    key: str | None = None,
    header: Sequence[str] = (),
    field: Sequence[str] = (),
    start: str | None = None,
    end: str | None = None,
    seek: str | None = None,
    scan: int | None = None,
    max_scan: int = 200_000,
) -> RecordQuery:
    """The :class:`RecordQuery` of the page's parameters (empty strings are unset, as a form sends
    them); :class:`QueryError` names the first wrong one."""
    start_time = parse_time("from", start) if start else None
    end_time = parse_time("to", end) if end else None
    if start_time and end_time and end_time <= start_time:
        raise QueryError(f"to={end} is not after from={start}")
    if scan is not None and not 1 <= scan <= max_scan:
        raise QueryError(f"scan={scan}: from 1 to {max_scan} records per partition")
    return RecordQuery(
        key=_bounded("key", key) if key else None,
        headers=tuple(parse_header(text) for text in header if text),
        fields=tuple(parse_field(text) for text in field if text),
        start=start_time,
        end=end_time,
        seek=parse_seek(seek) if seek else None,
        scan=scan,
    )
