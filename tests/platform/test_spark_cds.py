"""The Spark driver's class-data sharing archive: made at setup, used by every spark-submit."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from ticket_etl import jvm
from ticket_etl.spark_submit import driver_java_options, spark_submit_command

TINY_APP = """
from pyspark.sql import SparkSession
spark = SparkSession.builder.getOrCreate()
print("rows", spark.range(5).count())
spark.stop()
"""


@pytest.mark.integration
def test_spark_submit_maps_the_archive_made_at_setup(tmp_path: Path) -> None:
    """``make test`` trained the archive; the command maps it, and a JVM forced to use it
    (``-Xshare:on`` fails instead of running without) starts and runs a job."""
    archive = jvm.cds_archive_path()
    assert archive.is_file(), "run `make setup` (or `make test`), which trains the archive"
    app = tmp_path / "tiny.py"
    app.write_text(TINY_APP)
    command = spark_submit_command([], application=app, extra_java_options=("-Xshare:on",))
    options = next(arg for arg in command if arg.startswith("spark.driver.extraJavaOptions=")).split()
    assert f"-XX:SharedArchiveFile={archive}" in options
    assert "-Xshare:on" in options
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "rows 5" in result.stdout


def test_no_archive_no_option(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(jvm, "CDS_DIR", tmp_path)
    assert jvm.cds_java_option() == ""
    assert "SharedArchiveFile" not in driver_java_options()
    assert "-XX:+UseParallelGC -XX:-DontCompileHugeMethods" in driver_java_options()


def test_archive_name_follows_the_spark_jars(tmp_path: Path, monkeypatch) -> None:
    """Other Spark jars (an upgrade) give another archive name: the old one is never mapped."""
    current = jvm.cds_archive_path()
    (tmp_path / "spark-core_2.13-9.9.9.jar").write_bytes(b"not a jar")
    monkeypatch.setattr(jvm, "spark_jars_dir", lambda: tmp_path)
    assert jvm.cds_archive_path() != current
    assert jvm.cds_archive_path().parent == current.parent
