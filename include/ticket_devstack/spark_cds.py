"""Make the class-data sharing (CDS) archive of the Spark driver JVM, once, at setup.

Starting a Spark driver loads and verifies thousands of classes before the first record is read.
An archive made by a training run lets every later ``spark-submit`` map those classes instead:
on 2 cores, a trivial job went from about 9 s to 5.5 s of wall time.

    python -m ticket_devstack.spark_cds     # train, unless the archive is already there

Where the archive lives and when a job maps it: :mod:`ticket_etl.jvm`.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from ticket_etl import jvm
from ticket_etl.spark_submit import spark_submit_command

TRAINING_APP = Path(__file__).with_name("spark_cds_training.py")


def train() -> bool:
    """Make the archive with a training run of spark-submit. Returns False when it was there."""
    target = jvm.cds_archive_path()
    if target.is_file():
        return False
    jvm.CDS_DIR.mkdir(parents=True, exist_ok=True)
    for stale in jvm.CDS_DIR.glob("spark-driver-*.jsa"):  # made for another JVM or other jars
        stale.unlink()
    partial = target.with_suffix(".jsa.partial")
    partial.unlink(missing_ok=True)
    command = spark_submit_command(
        [], application=TRAINING_APP, cds=False, extra_java_options=(f"-XX:ArchiveClassesAtExit={partial}",)
    )
    print(f"spark-cds: training run to make {target}", flush=True)
    with tempfile.TemporaryDirectory(prefix="spark-cds-") as scratch:
        result = subprocess.run([*command, scratch], capture_output=True, text=True, check=False)
    if result.returncode != 0 or not partial.is_file():
        partial.unlink(missing_ok=True)
        raise SystemExit(
            f"spark-cds: the training run failed ({result.returncode}):\n{result.stderr[-3000:]}"
        )
    partial.rename(target)
    return True


def main() -> int:
    """Train the archive unless it is there; without Java, one error line (exit 1)."""
    try:
        made = train()
    except FileNotFoundError as error:  # no java (ticket_etl.jvm.java_executable says how to fix it)
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"spark-cds: {'made' if made else 'already present'}: {jvm.cds_archive_path()}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
