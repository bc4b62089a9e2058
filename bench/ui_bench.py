"""UI benchmark: the Ticket insights of a 30-day range of hourly runs (720 hours).

    python -m bench.ui_bench [--hours 720] [--runs 5] [--source STATS_DIR]

Makes 720 published hours in a temporary artifacts folder from the real summaries of
``--source`` (default ``STATS_DIR``: run ``make run`` first): each hour is a copy of one of them,
taken in turn, moved to its new hour (interval, run id, SLA due hours shifted with it), so the
keyword lists, SLA hours and figures are those of real runs. Then times, median of ``--runs``:

- the merge: :func:`ticket_airflow.ui.pages.range_insights` (list the hours, read and merge them);
- the JSON endpoint ``/api/insights`` and the page ``/`` (with its Plotly figures) of the plugin's
  FastAPI app, called in-process over HTTP (Airflow's security dependencies overridden: they check
  a JWT, whose cost does not depend on the range).

Target: the endpoint answers a 30-day range in under 1 s. Writes ``bench/results/ui.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import RESULTS_DIR, markdown_table, median, title, verdict, write_report
from ticket_etl import artifacts, config
from ticket_etl.interval import Interval, iso_utc, parse_utc

RESULTS_FILE = RESULTS_DIR / "ui.md"
TARGET_S = 1.0
FIRST_HOUR = datetime(2026, 10, 1, tzinfo=UTC)


def has_summaries(source: Path | None = None) -> bool:
    """True when ``source`` (default ``STATS_DIR``) has a published hour to copy."""
    return bool(artifacts.published_intervals(source or config.stats_dir()))


def real_summaries(source: Path) -> list[dict[str, Any]]:
    """The published summaries of ``source`` (at least one, else SystemExit with what to do)."""
    summaries = [
        artifacts.read_summary(source, interval) for interval in artifacts.published_intervals(source)
    ]
    summaries = [s for s in summaries if s]
    if not summaries:
        raise SystemExit(f"no published hour in {source}: run `make run` first, or pass --source")
    return summaries


def moved(summary: dict[str, Any], interval: Interval, run_id: str) -> dict[str, Any]:
    """``summary`` as if its run had processed ``interval`` (SLA due hours move with the hour)."""
    shift = interval.start - parse_utc(summary["interval"]["start"])
    document = json.loads(json.dumps(summary))
    document["interval"] = interval.as_dict()
    document["run"] = {**document.get("run", {}), "run_id": run_id}
    due = document.get("sla", {}).get("due_by_hour", {})
    for priority, hours in due.items():
        due[priority] = {iso_utc(parse_utc(hour) + shift): count for hour, count in hours.items()}
    return document


def make_hours(output: Path, summaries: list[dict[str, Any]], hours: int) -> Interval:
    """``hours`` published hours from FIRST_HOUR in ``output``; returns the whole range."""
    for index in range(hours):
        start = FIRST_HOUR + timedelta(hours=index)
        interval = Interval(start, start + timedelta(hours=1))
        document = moved(summaries[index % len(summaries)], interval, f"bench__{interval.token}")
        path = Path(artifacts.summary_path(str(output), interval))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(artifacts.json_text(document), encoding="utf-8")
    return Interval(FIRST_HOUR, FIRST_HOUR + timedelta(hours=hours))


def timed(call: Callable[[], Any], runs: int) -> tuple[float, float, Any]:
    """Median wall time and median CPU time of this process (all its threads) of ``runs`` calls,
    after one warm-up call, and the last result. On a busy machine the wall time grows with the
    other processes' load; the CPU time much less."""
    result = call()
    walls, cpus = [], []
    for _ in range(runs):
        started, cpu = time.perf_counter(), time.process_time()
        result = call()
        walls.append(time.perf_counter() - started)
        cpus.append(time.process_time() - cpu)
    return median(walls), median(cpus), result


def test_client() -> Any:
    """The plugin's app in-process, its security dependencies answered by a stub."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    from ticket_airflow.ui.app import create_app

    app = create_app()
    for dependency in app.router.dependencies:
        app.dependency_overrides[dependency.dependency] = lambda: None
    return TestClient(app)


def row(name: str, measure: tuple[float, float, Any]) -> list[str]:
    """A table row of a timed HTTP answer."""
    wall, cpu, response = measure
    size = f"{len(response.content) / 1024:.0f} KiB"
    return [name, f"{wall:.3f}", f"{cpu:.3f}", size, verdict(wall < TARGET_S)]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.ui_bench", description=__doc__.split("\n")[0])
    parser.add_argument("--hours", type=int, default=720, help="hours in the range (default 720: 30 days)")
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each measure (median)")
    parser.add_argument("--source", type=Path, default=None, help="artifacts with real summaries (STATS_DIR)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit 1 when the endpoint misses the target."""
    from ticket_airflow.ui import pages

    args = parse_args(argv)
    source = args.source or config.stats_dir()
    summaries = real_summaries(source)
    with tempfile.TemporaryDirectory(prefix="ui-bench-") as folder:
        output = Path(folder)
        whole = make_hours(output, summaries, args.hours)
        params = {"start": iso_utc(whole.start), "end": iso_utc(whole.end)}
        os.environ["STATS_DIR"] = str(output)  # what the app reads (config.stats_dir)
        merge = timed(lambda: pages.range_insights(params["start"], params["end"], None, output), args.runs)
        client = test_client()
        api = timed(lambda: client.get("/api/insights", params=params), args.runs)
        page = timed(lambda: client.get("/", params=params), args.runs)
    merged, response, html = merge[2], api[2], page[2]
    if response.status_code != 200 or html.status_code != 200 or merged["hours_published"] != args.hours:
        print(
            f"error: unexpected answer: {response.status_code} {html.status_code} {merged['hours_published']}"
        )
        return 1
    rows = [
        ["merge (list, read, merge the summaries)", f"{merge[0]:.3f}", f"{merge[1]:.3f}", "", ""],
        row("JSON endpoint /api/insights", api),
        row("page / (with its Plotly figures)", page),
    ]
    report = "\n".join(
        [
            title("UI benchmark: Ticket insights of a 30-day range"),
            "",
            f"{args.hours} hourly summaries (copies of the {len(summaries)} real one(s) of `{source}`), "
            f"median of {args.runs} runs after a warm-up, target under {TARGET_S:.0f} s.",
            "",
            markdown_table(["measure", "wall s", "CPU s", "answer size", f"wall < {TARGET_S:.0f} s"], rows),
            "",
        ]
    )
    write_report(RESULTS_FILE, report)
    return 0 if api[0] < TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
