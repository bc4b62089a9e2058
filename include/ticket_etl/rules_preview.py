"""A rules change, tried first: what the preview job is told, what it writes, and the Markdown a
person reads (issue 23, item 1). Defined once for the job (``spark_jobs/preview_rules.py``), the
command line (``python -m ticket_etl.cli rules preview``), the DAG ``ticket_rules_preview`` and
the UI page.

The job applies candidate rules to the published ``tickets_enriched`` of a range of hours: the
newest published version of each ticket, as a backfill of those hours would route it. It reads
the artifacts and writes only under ``_previews/<id>``: neither Kafka nor a published artifact
changes.

    <STATS_DIR>/_previews/<id>/transitions/part-*.parquet   tickets per hour, old -> new rule
                               preview.json                 the report (written last)
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypedDict

from ticket_etl import config
from ticket_etl.interval import HOUR, Interval, iso_utc
from ticket_etl.rules import RuleSet
from ticket_etl.storage import join

ERROR_PREFIX = "preview_rules: error: "  # the job's one-line message on stderr
PREVIEWS = "_previews"
REPORT_NAME = "preview.json"
TRANSITIONS = "transitions"
MAX_HOURS = 7 * 24  # a week of hours: a preview is read by a person, and Spark reads each hour
EXAMPLES = 3  # example ticket ids kept per transition (the smallest ids: stable across runs)
# The transitions dataset: one row per hour and (old rule -> new rule), with the teams they give.
TRANSITION_KEY = ("interval_start", "old_team", "new_team", "old_rule", "new_rule")


class PreviewError(ValueError):
    """A preview that cannot run as asked (bad range, bad rules): the message says why."""


@dataclass(frozen=True)
class PreviewArguments:
    """What one preview is told: the range of whole hours, the candidate rules (a file and the
    digest it was checked with), where the artifacts are, and the preview's id."""

    span: Interval
    rules: Path
    preview_id: str
    rules_digest: str | None = None
    artifacts_root: str = field(default_factory=config.stats_dir)

    def __post_init__(self) -> None:
        check_span(self.span)

    @property
    def output(self) -> str:
        return preview_path(self.artifacts_root, self.preview_id)

    def argv(self) -> list[str]:
        bounds = self.span.as_dict()
        args = ["--from", bounds["start"], "--to", bounds["end"], "--rules", str(self.rules)]
        args += ["--preview-id", self.preview_id, "--output", self.artifacts_root]
        return args + (["--rules-digest", self.rules_digest] if self.rules_digest else [])

    @classmethod
    def parse(cls, argv: list[str]) -> PreviewArguments:
        """Read the job's command line; :class:`PreviewError` when it is invalid."""
        parser = argparse.ArgumentParser(prog="preview_rules", exit_on_error=False)
        for name in ("--from", "--to", "--rules", "--preview-id", "--output"):
            parser.add_argument(name, required=True)
        parser.add_argument("--rules-digest")
        try:
            args = parser.parse_args(argv)
            span = Interval.parse(getattr(args, "from"), args.to)
        except (argparse.ArgumentError, ValueError) as error:
            raise PreviewError(f"bad arguments: {error}") from None
        root = config.artifacts_root(args.output)
        return cls(span, Path(args.rules), args.preview_id, args.rules_digest, root)


def check_span(span: Interval) -> Interval:
    """``span`` when it is whole UTC hours, at most :data:`MAX_HOURS`, and over."""
    if any(moment != moment.replace(minute=0, second=0, microsecond=0) for moment in (span.start, span.end)):
        raise PreviewError(f"the range {span} must start and end on the hour")
    if span.end - span.start > MAX_HOURS * HOUR:
        raise PreviewError(f"the range {span} is longer than {MAX_HOURS} hours: preview a shorter one")
    try:
        return span.require_ended()
    except ValueError as error:
        raise PreviewError(str(error)) from None


def hours_of(span: Interval) -> list[Interval]:
    """The hours of ``span``, the earliest first."""
    count = int((span.end - span.start) / HOUR)
    return [Interval.hour_starting(span.start + timedelta(hours=index)) for index in range(count)]


def preview_path(root: str, preview_id: str) -> str:
    from ticket_etl.artifacts import safe_run_id

    return join(root, PREVIEWS, safe_run_id(preview_id))


def read_report(output: str) -> Report | None:
    """The report in a preview's folder ``output``, or None when the preview has not finished."""
    import json

    from ticket_etl import storage

    text = storage.read_text(join(output, REPORT_NAME))
    return None if text is None else json.loads(text)


class Transition(TypedDict, total=False):
    """Tickets that go from one team (``moves``) or one rule (``rule_changes``, with the teams) to
    another, with a few of their ids."""

    old_team: str
    new_team: str
    old_rule: str
    new_rule: str
    tickets: int
    examples: list[str]


class Report(TypedDict):
    """``preview.json``: what the candidate rules would change on the range's published tickets."""

    preview_id: str
    previewed_at: str
    range: dict[str, str]
    rules: dict[str, str]
    hours_read: int
    hours_missing: list[str]
    tickets: int
    moved: int
    moves: list[Transition]
    rule_changes: list[Transition]
    by_hour: list[dict[str, Any]]
    never_matching: list[str]
    default_team: dict[str, Any]


def build_report(
    args: PreviewArguments,
    rules: RuleSet,
    rows: list[dict[str, Any]],
    hours_read: list[Interval],
    at: datetime,
) -> Report:
    """The report, made ``at``, from the transitions dataset's ``rows`` (:data:`TRANSITION_KEY`,
    ``tickets``, ``examples``) of the ``hours_read`` (the range's published hours)."""
    read = {hour.start for hour in hours_read}
    missing = [iso_utc(hour.start) for hour in hours_of(args.span) if hour.start not in read]
    moved = _moved(rows)
    changed = [row for row in rows if row["old_rule"] != row["new_rule"]]
    chosen = {row["new_rule"] for row in rows}
    fallen = [row for row in rows if row["new_rule"] == rules.default_rule_id]
    return Report(
        preview_id=args.preview_id,
        previewed_at=iso_utc(at.replace(microsecond=0)),
        range=args.span.as_dict(),
        rules={"version": rules.version, "digest": rules.digest, "file": str(args.rules)},
        hours_read=len(hours_read),
        hours_missing=missing,
        tickets=_tickets(rows),
        moved=_tickets(moved),
        moves=_grouped(moved, ("old_team", "new_team")),
        rule_changes=_grouped(changed, ("old_rule", "new_rule", "old_team", "new_team")),
        by_hour=[
            {"hour": hour, "tickets": _tickets(of_hour), "moved": _tickets(_moved(of_hour))}
            for hour, of_hour in _groups(rows, ("interval_start",)).items()
        ],
        never_matching=[rule.id for rule in rules.rules if rule.id not in chosen],
        default_team={
            "rule": rules.default_rule_id,
            "team": rules.default_team,
            "tickets": _tickets(fallen),
            "examples": _examples(fallen),
        },
    )


def _groups(rows: list[dict[str, Any]], key: tuple[str, ...]) -> dict[Any, list[dict[str, Any]]]:
    """``rows`` by the values of ``key`` (one value: the value itself), in sorted order."""
    groups: dict[Any, list[dict[str, Any]]] = {}
    for row in rows:
        values = tuple(row[name] for name in key)
        groups.setdefault(values if len(key) > 1 else values[0], []).append(row)
    return dict(sorted(groups.items()))


def _grouped(rows: list[dict[str, Any]], key: tuple[str, ...]) -> list[Transition]:
    """``rows`` summed over hours (and the other columns) per ``key``, the largest first."""
    merged = [
        Transition(**dict(zip(key, values, strict=True)), tickets=_tickets(group), examples=_examples(group))
        for values, group in _groups(rows, key).items()
    ]
    return sorted(merged, key=lambda transition: -transition["tickets"])


def _moved(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [row for row in rows if row["old_team"] != row["new_team"]]


def _tickets(rows: list[dict[str, Any]]) -> int:
    return sum(row["tickets"] for row in rows)


def _examples(rows: list[dict[str, Any]]) -> list[str]:
    return sorted({ticket for row in rows for ticket in row["examples"]})[:EXAMPLES]


def markdown(report: Report, lookup_url: str | None = None) -> str:
    """The report as Markdown (the task log, the command line; the UI page shows the same
    figures). ``lookup_url``: the UI's ticket lookup, to link the example ids."""

    def ids(examples: list[str]) -> str:
        if lookup_url is None:
            return ", ".join(f"`{ticket}`" for ticket in examples)
        return ", ".join(f"[{ticket}]({lookup_url}?ticket_id={ticket})" for ticket in examples)

    span, rules = report["range"], report["rules"]
    lines = [
        f"# Rules preview {report['preview_id']}",
        "",
        f"Rules version `{rules['version']}` (sha256 `{rules['digest'][:12]}`) on the hours "
        f"{span['start']} to {span['end']}: {report['hours_read']} published hour(s) read, "
        f"{report['tickets']} ticket(s).",
        "",
        f"**{report['moved']} ticket(s) would change team.**",
    ]
    if report["hours_missing"]:
        lines += [
            "",
            f"Not published, not previewed: {len(report['hours_missing'])} hour(s), "
            f"from {report['hours_missing'][0]}.",
        ]
    if report["moves"]:
        lines += ["", "| from team | to team | tickets | examples |", "|---|---|--:|---|"]
        lines += [
            f"| {m['old_team']} | {m['new_team']} | {m['tickets']} | {ids(m['examples'])} |"
            for m in report["moves"]
        ]
    if report["rule_changes"]:
        lines += ["", "| from rule | to rule | tickets | examples |", "|---|---|--:|---|"]
        lines += [
            f"| {c['old_rule']} | {c['new_rule']} | {c['tickets']} | {ids(c['examples'])} |"
            for c in report["rule_changes"]
        ]
    default = report["default_team"]
    lines += [
        "",
        f"Default team: {default['tickets']} ticket(s) match no rule and go to `{default['team']}` "
        f"(rule `{default['rule']}`){': ' + ids(default['examples']) if default['examples'] else ''}.",
        "",
        "Rules that route no ticket: "
        + (", ".join(f"`{rule}`" for rule in report["never_matching"]) or "none")
        + ".",
    ]
    if report["by_hour"]:
        lines += ["", "| hour | tickets | would move |", "|---|--:|--:|"]
        lines += [f"| {h['hour']} | {h['tickets']} | {h['moved']} |" for h in report["by_hour"]]
    return "\n".join(lines) + "\n"


def default_span(now: datetime | None = None) -> Interval:
    """The 24 complete hours before ``now``: yesterday's hours as a person means it in the morning."""
    end = Interval.hour_before(now or datetime.now(UTC)).end
    return Interval(end - 24 * HOUR, end)
