"""Run the test suite on two test stacks side by side: what `make test` does.

Most of the suite's wall time is single-threaded (a Spark driver planning, a JVM starting, a
scheduler loop), so one stack leaves one of the machine's two cores idle. Each stack here is a
whole test stack of its own (broker, metadata database, schema registry, Airflow, Spark cluster:
its ports moved by ``PORT_STEP``, its folders named after it) and runs the test folders it is
given (``tests/conftest.py`` deselects the others). Each line of a stack's output is prefixed
with its name; the exit code is the first failing stack's. Once all have ended, the failures of
every stack are printed again, last: the stacks' outputs interleave, and a CI log that keeps only
its tail must still say which tests failed.

    python tests/run_stacks.py          (from make test, which passes the base ports)
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

from ticket_etl.config import PROJECT_ROOT

# Every folder of tests/ in exactly one stack (tests/unit/test_run_stacks.py checks it). The
# Airflow-driven folders on one stack, the Spark job's and the faults on the other: about half of
# the suite's time each (29.8 and 35.2 min at a36d92e, tests/unit then on the second: 1.5 min).
STACK_FOLDERS = (("dags", "e2e", "platform", "producer", "unit"), ("faults", "spark"))
# The ports of the N-th stack are the first's plus N * PORT_STEP (50: the three-broker cluster
# takes TEST_KAFKA_PORT + 15, and ports derived modulo 100 differ between stacks).
PORT_STEP = 50
PORT_SETTINGS = (
    "TEST_KAFKA_PORT",
    "TEST_AIRFLOW_PORT",
    "TEST_DB_PORT",
    "TEST_SPARK_PORT",
    "TEST_REGISTRY_PORT",
)
# pytest's exit code when every test was deselected (none of the stack's folders selected).
NO_TESTS_SELECTED = 5
# The lines of pytest's short test summary (-r fE, its default) naming a test.
SUMMARY_PREFIXES = ("FAILED ", "ERROR ")
# `make test-stack` prints pytest's exit code (make's own is 2 whatever the recipe's was).
PYTEST_EXIT = re.compile(r"^pytest exit (\d+)$")


@dataclass(frozen=True)
class Stack:
    """One test stack: its name (``.platform/<name>-airflow``, ...), ports and test folders."""

    name: str
    ports: dict[str, int]
    folders: tuple[str, ...]

    def command(self) -> list[str]:
        """`make test-stack` of this stack (PYTEST_ARGS reaches it through MAKEFLAGS)."""
        settings = [f"{key}={value}" for key, value in self.ports.items()]
        return [
            "make",
            "--no-print-directory",
            "test-stack",
            f"TEST_STACK={self.name}",
            f"TEST_FOLDERS={','.join(self.folders)}",
            *settings,
        ]


def stacks(base_ports: dict[str, int]) -> list[Stack]:
    """The stacks of ``STACK_FOLDERS``: the first on ``base_ports`` and named `test` (the folders of
    a single-stack `make test`), the next ones `test2`, ... on ports ``PORT_STEP`` apart."""
    return [
        Stack(
            "test" if index == 0 else f"test{index + 1}",
            {key: port + index * PORT_STEP for key, port in base_ports.items()},
            folders,
        )
        for index, folders in enumerate(STACK_FOLDERS)
    ]


@dataclass
class Outcome:
    """How a stack's run ended: its exit code (pytest's once it ran, make's if it did not), its wall
    time and pytest's summary lines of its failures and errors."""

    code: int = -1
    seconds: float = 0.0
    failures: list[str] = field(default_factory=list)
    pytest_code: int | None = None

    def read(self, line: str) -> None:
        """Note what the stack's output ``line`` says of the outcome."""
        if is_failure_line(line):
            self.failures.append(line.rstrip("\n"))
        elif exit_line := PYTEST_EXIT.match(line.rstrip("\n")):
            self.pytest_code = int(exit_line.group(1))

    def ended(self, make_code: int, seconds: float) -> None:
        self.code = make_code if self.pytest_code is None or make_code == 0 else self.pytest_code
        self.seconds = seconds


def is_failure_line(line: str) -> bool:
    """A line of pytest's short test summary naming a failed or erroring test."""
    return line.startswith(SUMMARY_PREFIXES) and "::" in line.split(" ", 2)[1]


def recap(all_stacks: list[Stack], outcomes: list[Outcome]) -> list[str]:
    """The failures of every stack, each line prefixed with its stack's name (none if all passed)."""
    return [
        f"[{stack.name}] {line}"
        for stack, outcome in zip(all_stacks, outcomes, strict=True)
        for line in outcome.failures
    ]


def _follow(stack: Stack, process: subprocess.Popen, started: float, outcome: Outcome) -> None:
    """Copy the stack's output to ours, each line prefixed with its name, until it exits."""
    assert process.stdout is not None
    for line in process.stdout:
        sys.stdout.write(f"[{stack.name}] {line}")
        sys.stdout.flush()
        outcome.read(line)
    outcome.ended(process.wait(), time.monotonic() - started)
    print(
        f"[{stack.name}] exit {outcome.code} after {outcome.seconds:.0f} s ({', '.join(stack.folders)})",
        flush=True,
    )


def combined_exit_code(codes: list[int]) -> int:
    """0 when every stack passed or had no selected test, and at least one ran some; otherwise the
    first failing stack's code (5 when no stack had a selected test)."""
    failing = [code for code in codes if code not in (0, NO_TESTS_SELECTED)]
    if failing:
        return failing[0]
    return NO_TESTS_SELECTED if all(code == NO_TESTS_SELECTED for code in codes) else 0


def run(all_stacks: list[Stack]) -> int:
    """Run every stack at once, each line of output prefixed with its name."""
    started = time.monotonic()
    followers, outcomes = [], []
    for stack in all_stacks:
        process = subprocess.Popen(
            stack.command(),
            cwd=PROJECT_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            bufsize=1,
        )
        outcomes.append(Outcome())
        followers.append(threading.Thread(target=_follow, args=(stack, process, started, outcomes[-1])))
    for follower in followers:
        follower.start()
    for follower in followers:
        follower.join()
    failures = recap(all_stacks, outcomes)
    if failures:
        print("\n".join(["=== the failures of every stack ===", *failures]), flush=True)
    return combined_exit_code([outcome.code for outcome in outcomes])


def main() -> int:
    base = {key: int(os.environ[key]) for key in PORT_SETTINGS}
    return run(stacks(base))


if __name__ == "__main__":
    sys.exit(main())
