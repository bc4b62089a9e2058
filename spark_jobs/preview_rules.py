"""Preview candidate routing rules on the published hours of a range: which tickets would change
team, by which rules, which rules route nothing, what falls to the default team. Reads the
published ``tickets_enriched``; writes only under ``_previews/<id>`` (never Kafka, never a
published artifact).

    python -m ticket_etl.cli rules preview --rules FILE --from 2026-12-04T00:00Z --to 2026-12-05T00:00Z

The arguments and the report are those of :mod:`ticket_etl.rules_preview`; the exit codes those
of the analysis job (:class:`ticket_etl.job_contract.ExitCode`).
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime

from ticket_etl import config
from ticket_etl.job_contract import ExitCode
from ticket_etl.rules import RulesError, load_rules
from ticket_etl.rules_preview import ERROR_PREFIX, PreviewArguments, PreviewError, Report

log = logging.getLogger("preview_rules")


def run(args: PreviewArguments) -> Report:
    """Read the range's published hours, route them with the candidate rules, write the
    transitions then the report (last: a report means a complete preview)."""
    from pyspark.sql import SparkSession

    from ticket_analysis.preview import transitions
    from ticket_analysis.storage import HadoopStore
    from ticket_etl import artifacts
    from ticket_etl.rules_preview import REPORT_NAME, TRANSITIONS, build_report, hours_of
    from ticket_etl.storage import join

    rules = load_rules(args.rules, args.rules_digest)
    spark = SparkSession.builder.appName(f"preview_rules {args.preview_id}").getOrCreate()
    spark.sparkContext.setLogLevel("WARN" if config.log_level() != "DEBUG" else "INFO")
    try:
        store = HadoopStore(spark)
        store.delete(join(args.output, REPORT_NAME))  # a preview run again: no report until done
        paths = {
            h: artifacts.partition_path(args.artifacts_root, "tickets_enriched", h)
            for h in hours_of(args.span)
        }
        published = {hour: path for hour, path in paths.items() if store.exists(path)}
        rows = []
        if published:
            found = transitions(spark.read.parquet(*published.values()), rules)
            target = join(args.output, TRANSITIONS)
            found.coalesce(1).write.mode("overwrite").parquet(target)
            rows = [row.asDict() for row in spark.read.parquet(target).collect()]  # hours x rules²
        report = build_report(args, rules, rows, list(published), datetime.now(UTC))
        store.write_json_atomic(join(args.output, REPORT_NAME), dict(report))
        return report
    finally:
        spark.stop()


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=config.log_level(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        report = run(PreviewArguments.parse(sys.argv[1:] if argv is None else argv))
    except (PreviewError, RulesError) as error:
        print(f"{ERROR_PREFIX}{error}", file=sys.stderr)
        return int(ExitCode.DATA_ERROR)
    log.info(
        "previewed %s hour(s): %s of %s ticket(s) would move",
        report["hours_read"],
        report["moved"],
        report["tickets"],
    )
    return int(ExitCode.OK)


if __name__ == "__main__":
    sys.exit(main())
