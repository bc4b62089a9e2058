"""Run the test suite on two test stacks side by side: what `make test` does.

Most of the suite's wall time is single-threaded (a Spark driver planning, a JVM starting, a
scheduler loop), so one stack leaves one of the machine's two cores idle. Each stack here is a
whole test stack of its own (broker, metadata database, schema registry, Airflow, Spark cluster:
its ports moved by ``PORT_STEP``, its folders named after it) and runs the test folders it is
given (``tests/conftest.py`` deselects the others). Each line of a stack's output is prefixed
with its name; the exit code is the first failing stack's.

    python tests/run_stacks.py          (from make test, which passes the base ports)
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass

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
    """How a stack's run ended: its exit code and its wall time."""

    code: int = -1
    seconds: float = 0.0


def _follow(stack: Stack, process: subprocess.Popen, started: float, outcome: Outcome) -> None:
    """Copy the stack's output to ours, each line prefixed with its name, until it exits."""
    assert process.stdout is not None
    for line in process.stdout:
        sys.stdout.write(f"[{stack.name}] {line}")
        sys.stdout.flush()
    outcome.code = process.wait()
    outcome.seconds = time.monotonic() - started
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
    return combined_exit_code([outcome.code for outcome in outcomes])


def main() -> int:
    base = {key: int(os.environ[key]) for key in PORT_SETTINGS}
    return run(stacks(base))


if __name__ == "__main__":
    sys.exit(main())
