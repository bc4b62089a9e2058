"""How the analysis job is submitted: one definition for the DAG, the tests and the benchmarks."""

from __future__ import annotations

import zipfile
from pathlib import Path

from ticket_etl import config
from ticket_etl.platform import spark_cds
from ticket_etl.platform.jars import spark_kafka_jars

PY_PACKAGES = (config.PROJECT_ROOT / "plugins" / "ticket_etl", config.SPARK_JOBS_DIR / "ticket_analysis")


def build_py_files(target: Path | None = None) -> Path:
    """Zip the job's Python packages for ``--py-files`` (what a cluster's driver needs)."""
    target = target or config.PLATFORM_DIR / "build" / "ticket_job.zip"
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".zip.tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
        for package in PY_PACKAGES:
            for path in sorted(package.rglob("*.py")):
                archive.write(path, path.relative_to(package.parent))
    tmp.replace(target)
    return target


EXECUTOR_JAVA_OPTIONS = "spark.executor.extraJavaOptions"


def task_jvm_options() -> list[str]:
    """The JVM options of the JVMs that run tasks, from ``include/spark-defaults.conf``: a
    cluster's executors read them there, and in local mode the driver, which runs the tasks,
    gets the same ones (:func:`driver_java_options`). The README explains each one."""
    for line in config.SPARK_DEFAULTS_PATH.read_text(encoding="utf-8").splitlines():
        fields = line.split()
        if fields[:1] == [EXECUTOR_JAVA_OPTIONS]:
            return fields[1:]
    return []


def driver_java_options(cds: bool = True, extra: tuple[str, ...] = ()) -> str:
    """Driver JVM options: the job's log4j2 configuration (logs to stderr, WARN), the task JVM
    options (:func:`task_jvm_options`), and the class-data sharing archive when setup made one
    (``cds``; see ``ticket_etl.platform.spark_cds``), then ``extra``."""
    options = [f"-Dlog4j2.configurationFile=file:{config.SPARK_LOG4J_PATH}", *task_jvm_options()]
    if cds and (archive := spark_cds.java_options()):
        options.append(archive)
    return " ".join([*options, *extra])


def jars_argument() -> str:
    return ",".join(str(jar) for jar in spark_kafka_jars())


def spark_submit_command(
    job_args: list[str],
    application: Path = config.ANALYZE_JOB_PATH,
    cds: bool = True,
    extra_java_options: tuple[str, ...] = (),
) -> list[str]:
    """The spark-submit command line for ``application`` with the connector jars and defaults
    (``cds``: map the class-data sharing archive; ``extra_java_options``: more driver JVM options)."""
    return [
        "spark-submit",
        "--master",
        config.spark_master(),
        "--driver-memory",
        config.spark_driver_memory(),
        "--properties-file",
        str(config.SPARK_DEFAULTS_PATH),
        "--driver-java-options",
        driver_java_options(cds, extra_java_options),
        "--jars",
        jars_argument(),
        "--py-files",
        str(build_py_files()),
        str(application),
        *job_args,
    ]


def main(argv: list[str] | None = None) -> int:
    """``python -m ticket_etl.spark_submit <job args>``: run the analysis job by hand."""
    import subprocess
    import sys

    return subprocess.run(spark_submit_command(list(sys.argv[1:] if argv is None else argv))).returncode


if __name__ == "__main__":
    raise SystemExit(main())
