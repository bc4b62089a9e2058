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
