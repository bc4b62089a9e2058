"""Settings: one place for defaults (include/defaults.env), read the same by the code and the shell,
and a bad value named clearly, never a traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ticket_etl import config
from ticket_etl.config import INCLUDE_DIR, PROJECT_ROOT, SettingError

CLEAN_ENV = {"PATH": "/usr/bin:/bin", "HOME": "/tmp"}


def test_shell_and_code_read_the_same_defaults(tmp_path) -> None:
    names = list(config.defaults())
    script = f"source {INCLUDE_DIR / 'env.sh'}; " + "; ".join(f'echo "${name}"' for name in names)
    env = {**CLEAN_ENV, "HOME": str(tmp_path)}  # env.sh makes the JWT secret under ~/.config
    out = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.splitlines() == [config.defaults()[name].default for name in names]


def test_a_set_value_wins_over_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATCH_SIZE", "7")
    assert config.batch_size() == 7
    monkeypatch.setenv("BATCH_SIZE", "")  # empty counts as unset
    assert config.batch_size() == int(config.defaults()["BATCH_SIZE"].default)


@pytest.mark.parametrize(
    ("name", "value", "reader"),
    [
        ("KAFKA_BROKER", "nonsense", config.kafka_broker),
        ("KAFKA_BROKER", "host:99999", config.kafka_broker),
        ("SPARK_DRIVER_MEMORY", "lots", config.spark_driver_memory),
        ("SPARK_DRIVER_JAVA_OPTIONS", "TieredStopAtLevel=1", config.spark_driver_java_options),
        ("SPARK_DRIVER_JAVA_OPTIONS", "-Dname='unclosed", config.spark_driver_java_options),
        ("BATCH_SIZE", "-3", config.batch_size),
        ("BATCH_SIZE", "10000000", config.batch_size),
        ("SPARK_MASTER", "local[two]", config.spark_master),
        ("LOG_LEVEL", "loud", config.log_level),
        ("TOPIC_NAME", "bad topic", config.source_topic),
        ("STATS_DIR", "s3a://bucket/stats", config.stats_dir),
        ("STATS_DIR", "gs://bucket/stats", config.stats_dir),
        ("TASK_RETRY_DELAY_SECONDS", "0", config.task_retry_delay_seconds),
        ("TASK_RETRY_DELAY_SECONDS", "601", config.task_retry_delay_seconds),
    ],
)
def test_a_bad_value_names_the_setting(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, reader
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingError, match=f"^{name}="):
        reader()


def test_check_prints_one_line_per_bad_setting_and_no_traceback() -> None:
    env = {**CLEAN_ENV, "KAFKA_BROKER": "nonsense", "SPARK_DRIVER_MEMORY": "lots", "BATCH_SIZE": "-3"}
    result = subprocess.run(
        [sys.executable, "-m", "ticket_etl.config", "check"], env=env, capture_output=True, text=True
    )
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert [line.split("=")[0] for line in lines] == [
        "error: KAFKA_BROKER",
        "error: BATCH_SIZE",
        "error: SPARK_DRIVER_MEMORY",
    ]
    assert "Traceback" not in result.stderr


def test_configuration_docs_are_generated_from_the_defaults() -> None:
    """docs/configuration.md is `make docs`' output: run it after changing include/defaults.env."""
    assert (PROJECT_ROOT / "docs" / "configuration.md").read_text() == config.markdown_docs()


def test_the_drivers_java_options_end_with_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    """SPARK_DRIVER_JAVA_OPTIONS comes after the job's own options and before a caller's extra
    ones, each option quoted as Spark's launcher splits them."""
    from ticket_etl.spark_submit import driver_java_options

    monkeypatch.setenv("SPARK_DRIVER_JAVA_OPTIONS", "-XX:TieredStopAtLevel=1  -Dnote='two words'")
    options = driver_java_options(cds=False, extra=("-Xlog:gc",))
    assert options.startswith("-Dlog4j2.configurationFile=")
    assert options.endswith(" -XX:TieredStopAtLevel=1 '-Dnote=two words' -Xlog:gc")
