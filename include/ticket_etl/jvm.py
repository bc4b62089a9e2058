"""What the JVMs of the pipeline need to be found: ``java``, the Spark jars of the ``pyspark``
wheel, and the Spark driver's class-data sharing (CDS) archive, when setup made one.

An archive only fits the JVM and the Spark jars it was made with, so its file name carries a
digest of both: after an upgrade of pyspark or Java there is simply no archive until setup
trains one again (``python -m ticket_devstack.spark_cds``), and the jobs run without it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

from ticket_etl.config import PLATFORM_DIR

CDS_DIR = PLATFORM_DIR / "spark-cds"


def java_executable() -> Path:
    """The ``java`` to run (the one spark-submit runs too): ``$JAVA_HOME/bin/java``, else the one
    on PATH. Raises FileNotFoundError, naming the fix, when there is none."""
    java_home = os.environ.get("JAVA_HOME")
    found = Path(java_home) / "bin" / "java" if java_home else shutil.which("java")
    if not found or not Path(found).is_file():
        raise FileNotFoundError(
            "java not found: install Java 17 or set JAVA_HOME (see README, Prerequisites)"
        )
    return Path(found).resolve()


def spark_jars_dir() -> Path:
    """The Spark jars shipped in the ``pyspark`` wheel."""
    import pyspark

    return Path(pyspark.__file__).parent / "jars"


def cds_fingerprint() -> str:
    """Digest of what the archive depends on: the JVM binary and the Spark jars (names, sizes)."""
    java = java_executable()
    parts = [f"{java}:{java.stat().st_size}:{java.stat().st_mtime_ns}"]
    parts += [f"{jar.name}:{jar.stat().st_size}" for jar in sorted(spark_jars_dir().glob("*.jar"))]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def cds_archive_path() -> Path:
    return CDS_DIR / f"spark-driver-{cds_fingerprint()}.jsa"


def cds_java_option() -> str:
    """The driver's JVM option that maps the archive, or nothing when there is none (yet)."""
    try:
        archive = cds_archive_path()
    except FileNotFoundError:  # no java: spark-submit will say so itself
        return ""
    return f"-XX:SharedArchiveFile={archive}" if archive.is_file() else ""
