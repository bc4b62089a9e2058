"""A class-data sharing (CDS) archive for the Spark driver JVM.

Starting a Spark driver loads and verifies thousands of classes before the first record is read.
A CDS archive made once, by a training run at setup, lets every later ``spark-submit`` map those
classes instead: on 2 cores, a trivial job went from about 9 s to 5.5 s of wall time.

    python -m ticket_etl.platform.spark_cds     # train, unless the archive is already there

An archive only fits the JVM and the Spark jars it was made with. Its file name carries a digest
of both, so after an upgrade of pyspark or of Java there is simply no archive (the jobs run
without one, as before) until setup trains again. The JVM also checks the archive when it maps
it and, if it does not fit, runs without it.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
from pathlib import Path

from ticket_etl.config import PLATFORM_DIR
from ticket_etl.platform.processes import java_executable

CDS_DIR = PLATFORM_DIR / "spark-cds"
TRAINING_APP = Path(__file__).with_name("spark_cds_training.py")


def spark_jars_dir() -> Path:
    import pyspark

    return Path(pyspark.__file__).parent / "jars"


def fingerprint() -> str:
    """Digest of what the archive depends on: the JVM binary and the Spark jars (names, sizes)."""
    java = java_executable()
    parts = [f"{java}:{java.stat().st_size}:{java.stat().st_mtime_ns}"]
    parts += [f"{jar.name}:{jar.stat().st_size}" for jar in sorted(spark_jars_dir().glob("*.jar"))]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def archive_path() -> Path:
    return CDS_DIR / f"spark-driver-{fingerprint()}.jsa"


def java_options() -> str:
    """The driver's JVM option that maps the archive, or nothing when there is none (yet)."""
    try:
        archive = archive_path()
    except FileNotFoundError:  # no java: spark-submit will say so itself
        return ""
    return f"-XX:SharedArchiveFile={archive}" if archive.is_file() else ""


def train() -> bool:
    """Make the archive with a training run of spark-submit. Returns False when it was there."""
    from ticket_etl.spark_submit import spark_submit_command

    target = archive_path()
    if target.is_file():
        return False
    CDS_DIR.mkdir(parents=True, exist_ok=True)
    for stale in CDS_DIR.glob("spark-driver-*.jsa"):  # made for another JVM or other jars
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
    made = train()
    print(f"spark-cds: {'made' if made else 'already present'}: {archive_path()}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
