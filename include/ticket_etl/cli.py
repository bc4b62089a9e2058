"""The operator's command line.

    python -m ticket_etl.cli rules preview --rules FILE --from 2026-12-04T00:00Z --to 2026-12-05T00:00Z

``rules preview`` applies candidate routing rules to the published hours of the range with Spark
(``spark_jobs/preview_rules.py``) and prints what would change, in Markdown; the report stays
under ``STATS_DIR/_previews/<id>``. Nothing is sent to Kafka and no published artifact changes.
Exit codes: those of the job (0 done, 1 Spark failed, 2 bad arguments or rules).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from ticket_etl import config
from ticket_etl.interval import Interval
from ticket_etl.job_contract import ExitCode
from ticket_etl.rules import RulesError, load_rules
from ticket_etl.rules_preview import (
    ERROR_PREFIX,
    REPORT_NAME,
    PreviewArguments,
    PreviewError,
    markdown,
    read_report,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ticket_etl.cli", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    rules = commands.add_parser("rules", help="routing rules").add_subparsers(dest="action", required=True)
    preview = rules.add_parser("preview", help="what candidate rules would change on published hours")
    preview.add_argument("--rules", type=Path, required=True, help="the candidate rules file (YAML)")
    preview.add_argument("--from", dest="start", required=True, help="first hour, e.g. 2026-12-04T00:00Z")
    preview.add_argument("--to", dest="end", required=True, help="end of the range (exclusive), on the hour")
    preview.add_argument("--id", dest="preview_id", help="the preview's id (default: cli-<time>)")
    return parser


def preview_arguments(args: argparse.Namespace) -> PreviewArguments:
    """The job's arguments; :class:`PreviewError` or :class:`RulesError` before Spark starts when
    the range or the rules are wrong."""
    try:
        span = Interval.parse(args.start, args.end)
    except ValueError as error:
        raise PreviewError(f"bad range: {error}") from None
    rules = load_rules(args.rules)
    preview_id = args.preview_id or f"cli-{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
    return PreviewArguments(span, args.rules.resolve(), preview_id, rules.digest)


def run_preview(args: PreviewArguments) -> int:
    """spark-submit the preview job; print its Markdown report when it succeeds."""
    from ticket_etl.spark_submit import spark_submit_command

    command = spark_submit_command(args.argv(), application=config.PREVIEW_JOB_PATH)
    code = subprocess.run(command).returncode
    if code != ExitCode.OK:
        return code
    report = read_report(args.output)
    if report is None:
        print(f"{ERROR_PREFIX}the job ended without writing {args.output}/{REPORT_NAME}", file=sys.stderr)
        return int(ExitCode.FAILURE)
    print(markdown(report))
    return code


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        preview = preview_arguments(args)
    except (PreviewError, RulesError) as error:
        print(f"{ERROR_PREFIX}{error}", file=sys.stderr)
        return int(ExitCode.DATA_ERROR)
    return run_preview(preview)


if __name__ == "__main__":
    sys.exit(main())
