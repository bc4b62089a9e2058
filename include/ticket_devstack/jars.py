"""Fetch the JVM dependencies with Maven, once.

Each Maven project under ``include/maven/`` is resolved into its own folder of
``.platform/jars``; a folder that already holds jars and a stamp matching its
pom is left alone, so a second setup downloads nothing.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

from ticket_etl.config import INCLUDE_DIR, KAFKA_JARS_DIR, SPARK_KAFKA_JARS_DIR

MAVEN_PROJECTS: dict[str, Path] = {
    "kafka-broker": KAFKA_JARS_DIR,
    "spark-kafka": SPARK_KAFKA_JARS_DIR,
}
STAMP = ".pom.sha256"


def _pom(project: str) -> Path:
    return INCLUDE_DIR / "maven" / project / "pom.xml"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def is_fetched(project: str) -> bool:
    """True when the project's jars are present and were resolved from its current pom."""
    target = MAVEN_PROJECTS[project]
    stamp = target / STAMP
    return (
        stamp.is_file() and stamp.read_text().strip() == _digest(_pom(project)) and any(target.glob("*.jar"))
    )


def fetch(project: str) -> bool:
    """Resolve one Maven project into its jar folder. Returns True if it downloaded."""
    if is_fetched(project):
        return False
    if shutil.which("mvn") is None:
        raise SystemExit("Maven (mvn) is not on PATH: install Maven 3.8+ (see README, Prerequisites).")
    target = MAVEN_PROJECTS[project]
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    cmd = [
        "mvn",
        "-q",
        "-B",
        "-Dstyle.color=never",
        "-f",
        str(_pom(project)),
        "dependency:copy-dependencies",
        f"-DoutputDirectory={staging}",
    ]
    print(f"fetching {project} jars with Maven into {target}", flush=True)
    result = subprocess.run(cmd, check=False)
    if result.returncode != 0:
        raise SystemExit(f"Maven could not resolve {_pom(project)} (exit {result.returncode})")
    (staging / STAMP).write_text(_digest(_pom(project)) + "\n")
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    return True


def main(argv: list[str] | None = None) -> None:
    """``python -m ticket_devstack.jars [project ...]``: fetch the named Maven projects (all
    by default) that are missing or out of date. The container image fetches only
    ``spark-kafka``: its broker is a container of its own."""
    import argparse

    parser = argparse.ArgumentParser(description="Fetch the JVM dependencies with Maven.")
    parser.add_argument("projects", nargs="*", metavar="project", help=", ".join(MAVEN_PROJECTS))
    projects = parser.parse_args(argv).projects or list(MAVEN_PROJECTS)
    unknown = sorted(set(projects) - set(MAVEN_PROJECTS))
    if unknown:
        parser.error(f"unknown project {', '.join(unknown)} (known: {', '.join(MAVEN_PROJECTS)})")
    fetched = [project for project in projects if fetch(project)]
    print("jars: fetched " + ", ".join(fetched) if fetched else "jars: already present", flush=True)


if __name__ == "__main__":
    sys.exit(main())
