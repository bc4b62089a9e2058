"""Orchestration benchmark: how much of a ``ticket_pipeline`` run is Airflow's own overhead.

    python -m bench.orchestration_bench [--runs 3] [--tickets 1000] [--dag-id ticket_pipeline]

Needs the Airflow that ``make run`` starts (base URL from ``AIRFLOW__API__PORT``, user admin).
Triggers the DAG ``--runs`` times, one after the other, with conf
``{"tickets_per_run": N}``, and reads every task instance's start and end from the REST API:

- wall: the run's start to its end;
- sum of tasks: the sum of the task durations (work done, whatever ran in parallel);
- critical path: the longest chain of task durations along the DAG's dependencies;
- overhead = wall - critical path (scheduling, queuing, process start), and overhead / wall.

Medians over the runs are printed and written to ``bench/results/orchestration.md``.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.common import RESULTS_DIR, markdown_table, median, title, write_report

RESULTS_FILE = RESULTS_DIR / "orchestration.md"
DAG_ID = "ticket_pipeline"


@dataclass(frozen=True)
class RunTiming:
    """Timings of one DAG run, in seconds."""

    run_id: str
    state: str
    wall: float
    task_sum: float
    critical_path: float
    path: tuple[str, ...]

    @property
    def overhead(self) -> float:
        return self.wall - self.critical_path

    @property
    def overhead_share(self) -> float:
        return self.overhead / self.wall if self.wall else 0.0


def airflow_answers(timeout_s: float = 3.0) -> bool:
    """True when the Airflow API server at ``AIRFLOW__API__PORT`` answers its health check."""
    import httpx

    from ticket_devstack.airflow_service import base_url

    try:
        return httpx.get(f"{base_url()}/api/v2/monitor/health", timeout=timeout_s).status_code == 200
    except httpx.HTTPError:
        return False


def _instant(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def duration(item: dict[str, Any]) -> float:
    """Seconds between ``start_date`` and ``end_date`` (0 for a task that did not run)."""
    start, end = _instant(item.get("start_date")), _instant(item.get("end_date"))
    return (end - start).total_seconds() if start and end else 0.0


def critical_path(durations: dict[str, float], downstream: dict[str, list[str]]) -> tuple[float, list[str]]:
    """Longest chain of durations through the DAG (tasks in topological order), and its tasks."""
    upstream: dict[str, list[str]] = {task: [] for task in downstream}
    for task, children in downstream.items():
        for child in children:
            upstream.setdefault(child, []).append(task)
    finish: dict[str, tuple[float, list[str]]] = {}

    def longest(task: str) -> tuple[float, list[str]]:
        if task not in finish:
            before = max((longest(parent) for parent in upstream.get(task, [])), default=(0.0, []))
            finish[task] = (before[0] + durations.get(task, 0.0), [*before[1], task])
        return finish[task]

    return max((longest(task) for task in upstream), default=(0.0, []))


def timing(api, dag_id: str, run_id: str, downstream: dict[str, list[str]]) -> RunTiming:  # api: AirflowApi
    """Timings of a finished run, from its task instances."""
    run = api.request("GET", f"/dags/{dag_id}/dagRuns/{run_id}")
    instances = api.request("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances", params={"limit": 100})
    durations = {ti["task_id"]: duration(ti) for ti in instances["task_instances"]}
    length, path = critical_path(durations, downstream)
    return RunTiming(run_id, run["state"], duration(run), sum(durations.values()), length, tuple(path))


def render(timings: list[RunTiming], tickets: int, dag_id: str) -> str:
    """The Markdown report: one row per run, then the medians."""
    headers = ["run", "state", "wall s", "sum of tasks s", "critical path s", "overhead s", "overhead / wall"]

    def row(name: str, state: str, values: list[float], share: float) -> list[str]:
        return [name, state, *(f"{v:.1f}" for v in values), f"{share:.0%}"]

    rows = [
        row(t.run_id, t.state, [t.wall, t.task_sum, t.critical_path, t.overhead], t.overhead_share)
        for t in timings
    ]
    medians = [median([getattr(t, name) for t in timings]) for name in ("wall", "task_sum", "critical_path")]
    medians.append(median([t.overhead for t in timings]))
    rows.append(row("**median**", "", medians, median([t.overhead_share for t in timings])))
    slowest = max(timings, key=lambda t: t.critical_path)
    return (
        "\n".join(
            [
                title("Orchestration benchmark"),
                "",
                f"{len(timings)} sequential runs of `{dag_id}` with conf "
                f'`{{"tickets_per_run": {tickets}}}`; times from the REST API (run and task instance '
                "start/end).",
                "",
                markdown_table(headers, rows, numeric_from=2),
                "",
                f"Critical path (longest run): {' -> '.join(slowest.path)}.",
                "Overhead = wall - critical path: scheduling, queuing and task process start-up.",
            ]
        )
        + "\n"
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.orchestration_bench", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--runs", type=int, default=3, help="sequential DAG runs (median)")
    parser.add_argument("--tickets", type=int, default=1000, help="conf tickets_per_run")
    parser.add_argument("--dag-id", default=DAG_ID)
    parser.add_argument("--output", type=Path, default=RESULTS_FILE, help="Markdown report")
    args = parser.parse_args(argv)
    if args.runs <= 0 or args.tickets < 0:
        parser.error("--runs must be > 0 and --tickets >= 0")
    return args


def main(argv: list[str] | None = None) -> int:
    """Trigger the runs, measure them, print and write the report."""
    args = parse_args(argv)
    from ticket_devstack.airflow_service import AirflowApi, AirflowServiceError, base_url

    if not airflow_answers():
        print(
            f"error: no Airflow answers at {base_url()} (AIRFLOW__API__PORT): run `make run` first",
            file=sys.stderr,
        )
        return 1
    try:
        api = AirflowApi()
        api.wait_for_dag(args.dag_id)
        tasks = api.request("GET", f"/dags/{args.dag_id}/tasks")["tasks"]
        downstream = {task["task_id"]: task["downstream_task_ids"] for task in tasks}
        timings = []
        for i in range(args.runs):
            run_id = api.trigger(args.dag_id, {"tickets_per_run": args.tickets})
            api.wait_for_run(args.dag_id, run_id)
            timings.append(timing(api, args.dag_id, run_id, downstream))
            print(
                f"  run {i + 1}/{args.runs} {run_id}: {timings[-1].state}, {timings[-1].wall:.1f}s",
                file=sys.stderr,
            )
    except AirflowServiceError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    write_report(args.output, render(timings, args.tickets, args.dag_id))
    failed = [t.run_id for t in timings if t.state != "success"]
    if failed:
        print(f"error: runs not successful: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
