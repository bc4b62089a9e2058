"""Spark benchmark: the real analysis job against the I/O it cannot avoid and a read-only floor.

    python -m bench.spark_bench [--bootstrap B] [--counts 100000,1000000] [--runs 3] [--poc]

Expects a running broker (it starts nothing). For each count, a fresh 3-partition source
topic receives ``count`` tickets in one hour (the hour before the last complete one) plus
``--after`` tickets in the following hour, so the exact-interval filter has work to do.
Then, run after run (interleaved, median of ``--runs``), the wall time of one
``spark-submit`` (JVM start included) of:

- ours: ``spark_jobs/analyze_tickets.py``, the full job (validation, enrichment, parquet
  and JSON artifacts, team topics and a fresh dead-letter topic);
- (c) ``bench/io_floor_job.py``: the I/O any correct job of this design must do: the interval
  read, the raw records written as Parquet and read back, parsed, the tickets written as Parquet
  and each sent once to a fresh Kafka topic;
- (b) ``bench/floor_job.py``: the same interval read and JSON parsing, then a count;
- (a) ``bench/poc_analyzer.py``, with ``--poc`` only: the proof of concept's way, one fresh read
  of the whole topic for every count and every write.

All are submitted with :func:`ticket_etl.spark_submit.spark_submit_command`. The peak RSS of ours
(JVM + Python driver, the whole spark-submit process tree, sampled every 0.2 s), the driver
JVM's garbage-collection pauses (``-Xlog:gc``; in local mode the tasks run in that JVM) and, for
each of the job's steps, its time and the Spark jobs, stages and tasks it ran (its ``step
<name>: <s>s (<j> jobs, <s> stages, <t> tasks)`` log lines) are reported too. Targets (issue
#25): ours <= 1.25x (c) at every count; the cost per ticket at the largest count <= 1.1x the cost
at 1,000,000. At ``--cluster-counts`` (1,000,000 by default) ours also runs on a standalone master and
two workers started for the benchmark (issue #13): local mode and cluster side by side. The
tables are printed and written to ``bench/results/spark.md``. With ``--ref <commit>``, the job as it
was at that commit also runs, from a git worktree of it, at ``--ref-counts`` (1,000 and 1,000,000
by default), interleaved with the others: its steps beside ours, and the growth of the statistics
step against it (issue #21: at most 1.2x the job before the keyword analysis, ``make bench``'s
reference).

Note: ours and (a) write to the pipeline's team topics of the broker used (the job's topic
names are fixed); the source and dead-letter topics are created and deleted here.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import RESULTS_DIR, broker_is_up, markdown_table, median, title, verdict, write_report
from bench.producer_bench import delete_topic, fresh_topic
from ticket_etl import config, topology
from ticket_etl.interval import Interval
from ticket_etl.job_args import JobArguments

RESULTS_FILE = RESULTS_DIR / "spark.md"
BENCH_DIR = Path(__file__).resolve().parent
POC_APP = BENCH_DIR / "poc_analyzer.py"
FLOOR_APP = BENCH_DIR / "floor_job.py"
IO_FLOOR_APP = BENCH_DIR / "io_floor_job.py"
TARGET_OVER_IO_FLOOR = 1.25
TARGET_PER_TICKET_GROWTH = 1.1  # the largest count against PER_TICKET_BASE
TARGET_STATISTICS_GROWTH = 1.2  # issue 21: the statistics step against the job before it
STATISTICS_STEP = "statistics"
PER_TICKET_BASE = 1_000_000
GC_LOG = "-Xlog:gc:stdout"
GC_PAUSE = re.compile(r"GC\(\d+\) Pause.* ([0-9.]+)ms$", re.MULTILINE)
STEP = re.compile(
    r"analyze_tickets: step (.+?): ([0-9.]+)s"
    r"(?: \((\d+) jobs, (\d+) stages, (\d+) tasks(?:, ([0-9.]+)s in jobs)?\))?$",
    re.MULTILINE,
)
SAMPLE_EVERY_S = 0.2
MIB = 1024 * 1024
SUBMIT_TIMEOUT_S = 3600


@dataclass(frozen=True)
class Submission:
    """Outcome of one spark-submit."""

    seconds: float
    peak_rss_mib: float
    gc_pause_s: float = 0.0
    steps: dict[str, float] = field(default_factory=dict)
    work: dict[str, tuple[int, int, int]] = field(default_factory=dict)  # step: (jobs, stages, tasks)
    in_jobs: dict[str, float] = field(default_factory=dict)  # step: seconds its Spark jobs ran


@dataclass
class CountResult:
    """Every run of every method at one count."""

    count: int
    ours: list[Submission] = field(default_factory=list)
    poc: list[Submission] = field(default_factory=list)
    floor: list[Submission] = field(default_factory=list)
    io_floor: list[Submission] = field(default_factory=list)
    cluster: list[Submission] = field(default_factory=list)
    ref: list[Submission] = field(default_factory=list)

    def seconds(self, method: str) -> float:
        runs = getattr(self, method)
        return median([s.seconds for s in runs]) if runs else float("nan")

    def peak_rss_mib(self) -> float:
        return median([s.peak_rss_mib for s in self.ours])

    def gc_pause_s(self) -> float:
        return median([s.gc_pause_s for s in self.ours])

    def steps(self, method: str = "ours") -> dict[str, float]:
        """Median time of each step of ``method`` (ours or ref), in the job's order."""
        runs: list[Submission] = getattr(self, method)
        names = list(dict.fromkeys(name for s in runs for name in s.steps))
        return {name: median([s.steps.get(name, 0.0) for s in runs]) for name in names}

    def in_jobs(self) -> dict[str, float]:
        """Median seconds the Spark jobs of each step of ours ran."""
        names = list(dict.fromkeys(name for s in self.ours for name in s.in_jobs))
        return {name: median([s.in_jobs.get(name, 0.0) for s in self.ours]) for name in names}

    def work(self) -> dict[str, tuple[int, int, int]]:
        """Spark jobs, stages and tasks of each step of ours (its last run: the same plan each time)."""
        return self.ours[-1].work if self.ours else {}


def tree_rss(root) -> int:  # root: psutil.Process
    """Resident memory of ``root`` and all its descendants, in bytes (vanished ones count 0)."""
    import psutil

    total = 0
    try:
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    for process in processes:
        try:
            total += process.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return total


def submit(command: list[str], label: str) -> Submission:
    """Run one spark-submit, timing it and sampling its process tree's RSS every 0.2 s."""
    import psutil

    log = tempfile.TemporaryFile(mode="w+")
    began = time.perf_counter()
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    root = psutil.Process(process.pid)
    peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, tree_rss(root))
            stop.wait(SAMPLE_EVERY_S)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        returncode = process.wait(SUBMIT_TIMEOUT_S)
    finally:
        elapsed = time.perf_counter() - began
        stop.set()
        sampler.join()
        if process.poll() is None:
            process.kill()
    log.seek(0)
    output = log.read()
    log.close()
    if returncode != 0:
        raise RuntimeError(f"{label} failed ({returncode}):\n{output[-4000:]}")
    steps: dict[str, float] = {}
    work: dict[str, tuple[int, int, int]] = {}
    in_jobs: dict[str, float] = {}
    for name, seconds, jobs, stages, tasks, jobs_s in STEP.findall(output):
        steps[name] = steps.get(name, 0.0) + float(seconds)
        if jobs:
            before = work.get(name, (0, 0, 0))
            work[name] = (before[0] + int(jobs), before[1] + int(stages), before[2] + int(tasks))
        if jobs_s:
            in_jobs[name] = in_jobs.get(name, 0.0) + float(jobs_s)
    gc_pause = sum(float(ms) for ms in GC_PAUSE.findall(output)) / 1000
    return Submission(elapsed, peak / MIB, gc_pause, steps, work, in_jobs)


def intervals() -> tuple[tuple[datetime, datetime], tuple[datetime, datetime]]:
    """The measured hour (two hours ago) and the hour after it (the last complete hour)."""
    top = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    return (top - timedelta(hours=2), top - timedelta(hours=1)), (top - timedelta(hours=1), top)


def fill_topic(bootstrap: str, topic: str, count: int, after: int) -> tuple[datetime, datetime]:
    """Produce ``count`` tickets in the measured hour and ``after`` in the next; returns the hour."""
    from ticket_demo.generator import generate_batch
    from ticket_demo.producer import build_producer, produce_records

    (start, end), (after_start, after_end) = intervals()
    began = time.perf_counter()
    producer = build_producer(bootstrap)
    produce_records(producer, topic, generate_batch(start, end, count, seed=7).records())
    produce_records(producer, topic, generate_batch(after_start, after_end, after, seed=8).records())
    print(
        f"  {topic}: {count:,} + {after:,} tickets produced in {time.perf_counter() - began:.1f}s",
        file=sys.stderr,
    )
    return start, end


def ensure_team_topics(bootstrap: str) -> None:
    """The team topics the jobs write to (the broker does not auto-create topics)."""
    from confluent_kafka.admin import AdminClient

    from ticket_etl.topics import ensure_topics

    team_specs = tuple(spec for spec in topology.topic_specs() if spec.name in topology.TEAM_TOPICS)
    ensure_topics(AdminClient({"bootstrap.servers": bootstrap}), team_specs)


def job_arguments(bootstrap: str, topic: str, start: datetime, end: datetime, **extra: Any) -> JobArguments:
    """The measured interval, as the job (and the floor) read it."""
    return JobArguments(
        interval=Interval(start, end),
        run_id=f"bench-{uuid.uuid4().hex[:8]}",
        bootstrap=bootstrap,
        topic=topic,
        **extra,
    )


def run_ours(
    bootstrap: str, topic: str, start: datetime, end: datetime, count: int, master: str | None = None
) -> Submission:
    """The real job on the interval, with a fresh dead-letter topic and output folder (``master``:
    another master than ``SPARK_MASTER``, the benchmark's standalone cluster)."""
    from ticket_etl.spark_submit import submission

    dead_letters = fresh_topic(bootstrap, "dlq")
    output = Path(tempfile.mkdtemp(prefix="spark_bench_ours_"))
    args = job_arguments(bootstrap, topic, start, end, dead_letter_topic=dead_letters, artifacts_root=output)
    try:
        command = submission(args.argv(), extra_java_options=(GC_LOG,)).command(master)
        return submit(command, f"ours at {count:,}" + (f" on {master}" if master else ""))
    finally:
        shutil.rmtree(output, ignore_errors=True)
        delete_topic(bootstrap, dead_letters)


@contextmanager
def ref_tree(ref: str) -> Iterator[Path]:
    """A git worktree of the project at ``ref``, sharing our connector jars and class-data sharing
    archive (git-ignored, so not in the worktree); removed afterwards."""
    root = Path(tempfile.mkdtemp(prefix="spark_bench_ref_"))
    tree = root / "tree"
    git = ["git", "-C", str(config.PROJECT_ROOT), "worktree"]
    subprocess.run([*git, "add", "--detach", "--quiet", str(tree), ref], check=True)
    try:
        (tree / ".platform").mkdir()
        for shared in ("jars", "spark-cds"):
            (tree / ".platform" / shared).symlink_to(config.PLATFORM_DIR / shared)
        yield tree
    finally:
        subprocess.run([*git, "remove", "--force", str(tree)], check=False)
        shutil.rmtree(root, ignore_errors=True)


@dataclass(frozen=True)
class Reference:
    """The job at another commit, checked out in a worktree."""

    commit: str
    tree: Path


def ref_command(tree: Path, job_args: list[str]) -> list[str]:
    """The spark-submit command of the job at the reference ``tree``, built by its own submission
    module (its jars, settings and zipped modules)."""
    script = (
        "import json, sys; from ticket_etl.spark_submit import spark_submit_command; "
        "print(json.dumps(spark_submit_command(sys.argv[1:])))"
    )
    env = {key: value for key, value in os.environ.items() if key != "TICKETS_ROOT"}
    env["PYTHONPATH"] = str(tree / "include")
    built = subprocess.run(
        [sys.executable, "-c", script, *job_args],
        env=env,
        cwd=tree,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(built.stdout.splitlines()[-1])


def run_ref(
    ref: Reference, bootstrap: str, topic: str, start: datetime, end: datetime, count: int
) -> Submission:
    """The job at the reference commit on the interval (the arguments every version has), with a
    fresh dead-letter topic and output folder."""
    dead_letters = fresh_topic(bootstrap, "refdlq")
    output = Path(tempfile.mkdtemp(prefix="spark_bench_ref_out_"))
    args = ["--start", start.isoformat(), "--end", end.isoformat(), "--run-id", f"ref-{uuid.uuid4().hex[:8]}"]
    args += ["--bootstrap-servers", bootstrap, "--topic", topic, "--dead-letter-topic", dead_letters]
    args += ["--output", str(output)]
    try:
        return submit(ref_command(ref.tree, args), f"the job at {ref.commit} at {count:,}")
    finally:
        shutil.rmtree(output, ignore_errors=True)
        delete_topic(bootstrap, dead_letters)


def run_poc(bootstrap: str, topic: str, count: int) -> Submission:
    """Baseline (a) on the whole topic."""
    from ticket_etl.spark_submit import spark_submit_command

    output = Path(tempfile.mkdtemp(prefix="spark_bench_poc_"))
    args = ["--bootstrap-servers", bootstrap, "--topic", topic, "--output", str(output)]
    try:
        return submit(spark_submit_command(args, application=POC_APP), f"(a) at {count:,}")
    finally:
        shutil.rmtree(output, ignore_errors=True)


def run_floor(bootstrap: str, topic: str, start: datetime, end: datetime, count: int) -> Submission:
    """Floor (b) on the interval."""
    from ticket_etl.spark_submit import spark_submit_command

    args = job_arguments(bootstrap, topic, start, end)
    return submit(spark_submit_command(args.argv(), application=FLOOR_APP), f"(b) at {count:,}")


def run_io_floor(bootstrap: str, topic: str, start: datetime, end: datetime, count: int) -> Submission:
    """Floor (c) on the interval, sending to a fresh topic and writing to a fresh folder."""
    from ticket_etl.spark_submit import spark_submit_command

    sent_to = fresh_topic(bootstrap, "iofloor")
    output = Path(tempfile.mkdtemp(prefix="spark_bench_io_floor_"))
    args = job_arguments(bootstrap, topic, start, end, dead_letter_topic=sent_to, artifacts_root=output)
    try:
        return submit(spark_submit_command(args.argv(), application=IO_FLOOR_APP), f"(c) at {count:,}")
    finally:
        shutil.rmtree(output, ignore_errors=True)
        delete_topic(bootstrap, sent_to)


def measure(
    args: argparse.Namespace, count: int, cluster_master: str | None = None, ref: Reference | None = None
) -> CountResult:
    """All runs at one count, on one fresh source topic (deleted afterwards), interleaved (``ref``:
    the reference job, run too)."""
    topic = fresh_topic(args.bootstrap, f"spark{count}")
    result = CountResult(count)
    poc_runs = (1 if count >= args.poc_once_from else args.runs) if args.poc else 0
    try:
        start, end = fill_topic(args.bootstrap, topic, count, args.after)
        for i in range(args.runs):
            runs = [
                ("ours", lambda: run_ours(args.bootstrap, topic, start, end, count)),
                ("io_floor", lambda: run_io_floor(args.bootstrap, topic, start, end, count)),
            ]
            if i < poc_runs:
                runs.append(("poc", lambda: run_poc(args.bootstrap, topic, count)))
            runs.append(("floor", lambda: run_floor(args.bootstrap, topic, start, end, count)))
            if cluster_master is not None:
                runs.append(
                    ("cluster", lambda: run_ours(args.bootstrap, topic, start, end, count, cluster_master))
                )
            if ref is not None:
                runs.append(("ref", lambda: run_ref(ref, args.bootstrap, topic, start, end, count)))
            for method, run in runs:
                submission = run()
                getattr(result, method).append(submission)
                print(
                    f"  {count:,} run {i + 1}/{args.runs} {method}: {submission.seconds:.1f}s, "
                    f"peak RSS {submission.peak_rss_mib:,.0f} MiB",
                    file=sys.stderr,
                )
    finally:
        delete_topic(args.bootstrap, topic)
    return result


def render_ref(results: list[CountResult], commit: str) -> list[str]:
    """The section comparing ours with the job at ``commit``: the statistics step (issue #21's
    target) and every step of both."""
    compared = [r for r in results if r.ref]
    if not compared:
        return []
    rows = []
    for r in compared:
        ours, before = r.steps().get(STATISTICS_STEP, 0.0), r.steps("ref").get(STATISTICS_STEP, 0.0)
        growth = ours / before if before else float("nan")
        rows.append(
            [
                f"{r.count:,}",
                f"{ours:.1f}",
                f"{before:.1f} ({len(r.ref)})",
                f"{growth:.2f}x {verdict(growth <= TARGET_STATISTICS_GROWTH)}",
                f"{r.seconds('ours'):.1f}",
                f"{r.seconds('ref'):.1f}",
            ]
        )
    headers = ["tickets in the hour", "statistics step, ours s", f"statistics step at {commit} s (runs)"]
    headers += [f"growth (≤ {TARGET_STATISTICS_GROWTH:g}x)", "ours whole s", f"at {commit} whole s"]
    names = list(dict.fromkeys(name for r in compared for name in (*r.steps("ref"), *r.steps())))
    step_rows = [
        [name, *(f"{r.steps().get(name, 0.0):.1f} / {r.steps('ref').get(name, 0.0):.1f}" for r in compared)]
        for name in names
    ]
    return [
        "",
        f"### Against the job at {commit} (median seconds, the same topic, interleaved)",
        "",
        markdown_table(headers, rows),
        "",
        markdown_table(["step (ours / at " + commit + ")", *(f"{r.count:,}" for r in compared)], step_rows),
    ]


def render(results: list[CountResult], after: int, ref: str | None = None) -> str:
    """The Markdown report with the verdict on each target, and the steps of ours per count."""
    rows = []
    for r in results:
        ours, io_floor, floor = r.seconds("ours"), r.seconds("io_floor"), r.seconds("floor")
        rows.append(
            [
                f"{r.count:,}",
                f"{ours:.1f} ({len(r.ours)})",
                f"{io_floor:.1f} ({len(r.io_floor)})",
                f"{floor:.1f} ({len(r.floor)})",
                f"{ours / io_floor:.2f}x (≤ {TARGET_OVER_IO_FLOOR:g}x)",
                f"{ours - io_floor:.1f}",
                f"{ours / r.count * 1e6:,.1f}",
                f"{r.seconds('poc'):.1f} ({len(r.poc)})" if r.poc else "-",
                f"{r.peak_rss_mib():,.0f}",
                f"{r.gc_pause_s():.1f}",
            ]
        )
    headers = ["tickets in the hour", "ours s (runs)", "(c) I/O floor s (runs)", "(b) read floor s (runs)"]
    headers += ["ours / (c) (target)", "ours - (c) s", "ours µs/ticket", "(a) PoC s (runs)"]
    headers += ["ours peak RSS MiB", "ours GC pauses s"]
    met = [r.seconds("ours") / r.seconds("io_floor") <= TARGET_OVER_IO_FLOOR for r in results]
    lines = [
        title("Spark benchmark"),
        "",
        f"Wall time of one spark-submit (JVM start included), median of the runs in brackets, the "
        f"methods interleaved. Each source topic also holds {after:,} tickets of the next hour. "
        f"master {config.spark_master()}, driver memory {config.spark_driver_memory()}.",
        "",
        markdown_table(headers, rows),
        "",
        f"- target ours / (c) ≤ {TARGET_OVER_IO_FLOOR:g}x: "
        + ", ".join(
            f"{r.count:,}: {r.seconds('ours') / r.seconds('io_floor'):.2f}x {verdict(ok)}"
            for r, ok in zip(results, met, strict=True)
        ),
    ]
    base = next((r for r in results if r.count == PER_TICKET_BASE), None)
    large = results[-1]
    if base is not None and large.count > base.count:
        growth = (large.seconds("ours") / large.count) / (base.seconds("ours") / base.count)
        lines.append(
            f"- target cost per ticket at {large.count:,} ≤ {TARGET_PER_TICKET_GROWTH:g}x the cost at "
            f"{base.count:,}: {growth:.2f}x, {verdict(growth <= TARGET_PER_TICKET_GROWTH)}"
        )
    allowed = jvm_size_mib(config.spark_driver_memory())
    lines.append(
        f"- peak RSS of the spark-submit tree within the driver memory ({config.spark_driver_memory()}, "
        f"{allowed:,.0f} MiB): "
        + ", ".join(
            f"{r.count:,}: {r.peak_rss_mib():,.0f} MiB {verdict(r.peak_rss_mib() <= allowed)}"
            for r in results
        )
        + "; GC pauses: "
        + ", ".join(f"{r.count:,}: {r.gc_pause_s():.1f} s" for r in results)
    )
    clustered = [r for r in results if r.cluster]
    if clustered:
        lines += [
            "",
            "### The same job on a standalone cluster (master and two 1-core workers on this machine)",
            "",
            markdown_table(
                ["tickets in the hour", "local mode s", "cluster s (runs)", "cluster / local"],
                [
                    [
                        f"{r.count:,}",
                        f"{r.seconds('ours'):.1f}",
                        f"{r.seconds('cluster'):.1f} ({len(r.cluster)})",
                        f"{r.seconds('cluster') / r.seconds('ours'):.2f}x",
                    ]
                    for r in clustered
                ],
            ),
            "",
            "Both on the same two cores: the cluster adds a master, two worker and two executor JVMs, "
            "the executors fetch the jars and modules from the driver, and the driver and executors "
            "exchange every task and result over RPC; local mode runs the tasks inside the driver.",
        ]
    lines += [
        "",
        "ours: spark_jobs/analyze_tickets.py (full job, team topics and dead-letter topic included); "
        "(c) bench/io_floor_job.py (interval read, raw Parquet written and read back, from_json, "
        "tickets Parquet written, each ticket sent once to Kafka); (b) bench/floor_job.py (interval "
        "read, from_json, count); (a) bench/poc_analyzer.py (a fresh read of the whole topic for "
        "each of its 10 actions), a reference run with --poc. Peak RSS: sum over the spark-submit "
        "process tree (JVM + Python driver), sampled every 0.2 s. GC pauses: the driver JVM's "
        "stop-the-world pauses (-Xlog:gc).",
        "",
        "### Where the time of ours goes",
        "",
        "Median seconds per step; in brackets the Spark jobs / stages / tasks it ran, and the "
        "median seconds its jobs were running. The rest of a step is the driver's: planning and "
        "code generation of its queries, Python, files written through Hadoop.",
        "",
    ]
    names = list(dict.fromkeys(name for r in results for name in r.steps()))

    def cell(r: CountResult, name: str) -> str:
        work, in_jobs = r.work().get(name), r.in_jobs().get(name)
        spent = f"{r.steps().get(name, 0.0):.1f}"
        if not work:
            return spent
        ran = f", {in_jobs:.1f} s in jobs" if in_jobs is not None else ""
        return f"{spent} ({work[0]} / {work[1]} / {work[2]}{ran})"

    step_rows = [[name, *(cell(r, name) for r in results)] for name in names]
    step_rows.append(
        [
            "(sum of the steps)",
            *(f"{sum(r.steps().values()):.1f} ({sum(r.in_jobs().values()):.1f} s in jobs)" for r in results),
        ]
    )
    step_rows.append(["(whole spark-submit)", *(f"{r.seconds('ours'):.1f}" for r in results)])
    lines.append(markdown_table(["step", *(f"{r.count:,}" for r in results)], step_rows))
    if ref is not None:
        lines += render_ref(results, ref)
    return "\n".join(lines) + "\n"


def jvm_size_mib(size: str) -> float:
    """A JVM memory size (``512m``, ``2g``) in MiB."""
    units = {"k": 1 / 1024, "m": 1, "g": 1024, "t": 1024 * 1024}
    return float(size[:-1]) * units[size[-1].lower()] if size[-1].lower() in units else float(size) / MIB


def parse_counts(text: str) -> list[int]:
    """``"100000,1000000"`` -> ``[100000, 1000000]`` (sorted, all > 0)."""
    counts = sorted(int(part) for part in text.split(",") if part.strip())
    if not counts or counts[0] <= 0:
        raise argparse.ArgumentTypeError(f"counts must be positive integers, got {text!r}")
    return counts


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.spark_bench", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--bootstrap", default=config.kafka_broker(), help="running broker (default KAFKA_BROKER)"
    )
    parser.add_argument(
        "--counts",
        type=parse_counts,
        default=[1_000, 100_000, 1_000_000, 3_000_000],
        help="tickets in the hour",
    )
    parser.add_argument("--runs", type=int, default=3, help="runs per method (median)")
    parser.add_argument("--after", type=int, default=5_000, help="tickets in the hour after (filtered out)")
    parser.add_argument("--poc", action="store_true", help="also run (a), the proof of concept's way")
    parser.add_argument(
        "--poc-once-from",
        type=int,
        default=1_000_000,
        help="run (a) only once from this count on (it is slow)",
    )
    parser.add_argument(
        "--cluster-counts",
        type=parse_counts,
        default=[1_000_000],
        help="counts at which ours also runs on a standalone cluster started here (two 1-core workers)",
    )
    parser.add_argument("--no-cluster", action="store_true", help="skip the standalone cluster runs")
    parser.add_argument("--ref", help="also run the job as it was at this commit (a git worktree of it)")
    parser.add_argument(
        "--ref-counts",
        type=parse_counts,
        default=[1_000, 1_000_000],
        help="counts at which the job at --ref runs",
    )
    parser.add_argument("--output", type=Path, default=RESULTS_FILE, help="Markdown report")
    args = parser.parse_args(argv)
    if args.runs <= 0 or args.after < 0:
        parser.error("--runs must be > 0 and --after >= 0")
    return args


def main(argv: list[str] | None = None) -> int:
    """Measure every count, print the report and write it."""
    args = parse_args(argv)
    if not broker_is_up(args.bootstrap):
        return 1
    ensure_team_topics(args.bootstrap)
    with ExitStack() as stack:
        master = None
        if not args.no_cluster and set(args.cluster_counts) & set(args.counts):
            master = stack.enter_context(bench_cluster())
        ref = Reference(args.ref, stack.enter_context(ref_tree(args.ref))) if args.ref else None
        results = [
            measure(
                args,
                count,
                master if count in args.cluster_counts else None,
                ref if count in args.ref_counts else None,
            )
            for count in args.counts
        ]
    write_report(args.output, render(results, args.after, args.ref))
    return 0


@contextmanager
def bench_cluster() -> Iterator[str]:
    """A standalone master and two workers of the benchmark's own (as `make run` starts them), on
    ``BENCH_SPARK_PORT`` (default 39177); stopped and deleted afterwards."""
    from ticket_devstack import spark_service

    port = int(os.environ.get("BENCH_SPARK_PORT") or 39177)
    with spark_service.fresh_cluster(config.PLATFORM_DIR / "bench-spark", port, keep_files=False) as cluster:
        yield cluster.url


if __name__ == "__main__":
    sys.exit(main())
