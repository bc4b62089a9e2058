"""`make test`'s two test stacks (tests/run_stacks.py): every test folder runs on exactly one, their
ports never meet, and the exit code is a failing stack's."""

from __future__ import annotations

from pathlib import Path

import pytest
import run_stacks

TESTS_DIR = Path(__file__).parents[1]
# The Makefile's defaults of the first stack.
BASE_PORTS = {
    "TEST_KAFKA_PORT": 29092,
    "TEST_AIRFLOW_PORT": 28080,
    "TEST_DB_PORT": 25432,
    "TEST_SPARK_PORT": 27077,
    "TEST_REGISTRY_PORT": 28081,
}


def _ports_taken(ports: dict[str, int]) -> set[int]:
    """Every port a stack's services and tests listen on (tests/conftest.py and the tests' second
    schema registries derive theirs from the broker's)."""
    kafka, spark = ports["TEST_KAFKA_PORT"], ports["TEST_SPARK_PORT"]
    return {
        kafka,
        kafka + 1,
        *range(kafka + 10, kafka + 16),
        *range(spark, spark + 4),
        ports["TEST_AIRFLOW_PORT"],
        ports["TEST_DB_PORT"],
        ports["TEST_REGISTRY_PORT"],
        28281 + kafka % 100,  # tests/platform/test_schema_registry.py
        28381 + kafka % 100,  # tests/spark/test_schema_versions.py
    }


def test_every_test_folder_runs_on_exactly_one_stack() -> None:
    folders = sorted(path.parent.name for path in TESTS_DIR.glob("*/test_*.py"))
    assigned = [folder for stack in run_stacks.STACK_FOLDERS for folder in stack]
    assert sorted(assigned) == sorted(set(folders))


def test_the_stacks_ports_and_folders_never_meet() -> None:
    stacks = run_stacks.stacks(BASE_PORTS)
    assert [stack.name for stack in stacks] == ["test", "test2"]
    assert stacks[0].ports == BASE_PORTS
    first, second = (_ports_taken(stack.ports) for stack in stacks)
    assert first.isdisjoint(second)
    assert "TEST_STACK=test2" in stacks[1].command()
    assert "TEST_FOLDERS=faults,spark" in stacks[1].command()


@pytest.mark.parametrize(
    ("codes", "expected"),
    [([0, 0], 0), ([0, 5], 0), ([5, 0], 0), ([1, 0], 1), ([0, 2], 2), ([5, 1], 1), ([5, 5], 5)],
)
def test_the_exit_code_is_a_failing_stacks(codes: list[int], expected: int) -> None:
    """5: pytest's code when every test was deselected (none of the stack's folders selected)."""
    assert run_stacks.combined_exit_code(codes) == expected


def test_the_failures_of_every_stack_are_recapped_last() -> None:
    """pytest's short summary lines of each stack, named: the CI log's tail says what failed."""
    stacks = run_stacks.stacks(BASE_PORTS)
    output = [
        "tests/e2e/test_backfill.py F.    [  2%]",
        "FAILED tests/e2e/test_backfill.py::test_backfill_twice - AssertionError: 3 != 2",
        "ERROR tests/e2e/test_ui.py::test_page[chromium] - TimeoutError",
        "ERROR: file or directory not found: tests/nowhere",
        "===== 1 failed, 1 error, 3 passed in 9.00s =====",
    ]
    failing = run_stacks.Outcome(
        code=1, failures=[line for line in output if run_stacks.is_failure_line(line)]
    )
    assert run_stacks.recap(stacks, [failing, run_stacks.Outcome(code=0)]) == [
        "[test] FAILED tests/e2e/test_backfill.py::test_backfill_twice - AssertionError: 3 != 2",
        "[test] ERROR tests/e2e/test_ui.py::test_page[chromium] - TimeoutError",
    ]


@pytest.mark.parametrize(
    ("lines", "make_code", "expected"),
    [
        (["pytest exit 0\n"], 0, 0),
        (["pytest exit 5\n"], 2, 5),  # nothing selected on this stack: make says 2 whatever pytest said
        (["pytest exit 1\n"], 2, 1),
        ([], 2, 2),  # the stack did not start: pytest never ran
    ],
)
def test_a_stacks_code_is_pytests_once_it_ran(lines: list[str], make_code: int, expected: int) -> None:
    outcome = run_stacks.Outcome()
    for line in lines:
        outcome.read(line)
    outcome.ended(make_code, 1.0)
    assert outcome.code == expected
