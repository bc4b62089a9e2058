"""How the analysis job is submitted, defined once: the DAG's ``SparkSubmitOperator`` takes the
fields of :func:`submission`, and the tests, the benchmarks and ``python -m
ticket_etl.spark_submit`` run :meth:`Submission.command`, which spells the same fields as
spark-submit flags in the order the provider's hook does.

    python -m ticket_etl.spark_submit --start 2026-11-28T04:00Z --end 2026-11-28T05:00Z --run-id manual-1

The job's own arguments come from :class:`ticket_etl.job_args.JobArguments`.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib.util
import os
import shlex
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ticket_etl import config, jvm

JOB_NAME = "analyze_tickets"
# First-party packages the job may import; --py-files carries the modules it does import.
JOB_PACKAGES = ("ticket_etl", "ticket_analysis")
EXECUTOR_JAVA_OPTIONS = "spark.executor.extraJavaOptions"


@dataclass(frozen=True)
class Submission:
    """One spark-submit: the fields of ``SparkSubmitOperator`` that carry it (the master comes
    from the Spark connection there, from ``SPARK_MASTER`` in :meth:`command`)."""

    application: str
    application_args: list[str]
    conf: dict[str, str]
    jars: str
    py_files: str
    properties_file: str
    name: str

    def operator_fields(self) -> dict[str, Any]:
        """Keyword arguments of ``SparkSubmitOperator`` (every one is a templated field)."""
        return dataclasses.asdict(self)

    def command(self, master: str | None = None) -> list[str]:
        """The spark-submit command line of this submission."""
        command = ["spark-submit", "--master", master or config.spark_master()]
        for key, value in self.conf.items():
            command += ["--conf", f"{key}={value}"]
        command += ["--properties-file", self.properties_file, "--py-files", self.py_files]
        command += ["--jars", self.jars, "--name", self.name, self.application, *self.application_args]
        return command


def task_jvm_options() -> list[str]:
    """The JVM options of the JVMs that run tasks, from ``include/spark-defaults.conf``: a
    cluster's executors read them there, and in local mode the driver, which runs the tasks, gets
    the same ones (:func:`driver_java_options`). The README explains each one."""
    for line in config.SPARK_DEFAULTS_PATH.read_text(encoding="utf-8").splitlines():
        fields = line.split()
        if fields[:1] == [EXECUTOR_JAVA_OPTIONS]:
            return fields[1:]
    return []


def driver_java_options(cds: bool = True, extra: tuple[str, ...] = ()) -> str:
    """Driver JVM options: the job's log4j2 configuration (logs to stderr, WARN), the task JVM
    options, the class-data sharing archive when setup made one (``cds``), the setting
    ``SPARK_DRIVER_JAVA_OPTIONS``, then ``extra``."""
    options = [f"-Dlog4j2.configurationFile=file:{config.SPARK_LOG4J_PATH}", *task_jvm_options()]
    if cds and (archive := jvm.cds_java_option()):
        options.append(archive)
    return " ".join([*options, *map(shlex.quote, config.spark_driver_java_options()), *extra])


def spark_kafka_jars() -> list[Path]:
    """The connector jars to pass to spark-submit ``--jars`` (fetched by ``make setup``)."""
    jars = sorted(config.SPARK_KAFKA_JARS_DIR.glob("*.jar"))
    if not jars:
        raise FileNotFoundError(
            f"no Spark Kafka connector jars in {config.SPARK_KAFKA_JARS_DIR}: run `make setup`"
        )
    return jars


def job_modules(entry_point: Path = config.ANALYZE_JOB_PATH) -> list[Path]:
    """The first-party modules the job imports, directly or not, with their packages'
    ``__init__.py``: what its ``--py-files`` archive must carry, and nothing else."""
    seen: set[Path] = set()
    pending = [entry_point]
    while pending:
        for module in _first_party_imports(pending.pop()):
            for path in _module_files(module):
                if path not in seen:
                    seen.add(path)
                    pending.append(path)
    return sorted(seen)


def _first_party_imports(path: Path) -> Iterator[str]:
    """Dotted names of the first-party modules (or names within them) ``path`` imports."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        else:
            continue
        yield from (name for name in names if name.split(".")[0] in JOB_PACKAGES)


def _module_files(name: str) -> list[Path]:
    """The file of module ``name`` and the ``__init__.py`` of each package above it (nothing when
    ``name`` is not a module, e.g. a function imported from one)."""
    parts = name.split(".")
    files: list[Path] = []
    for depth in range(1, len(parts) + 1):
        spec = importlib.util.find_spec(".".join(parts[:depth]))
        if spec is None or spec.origin is None:
            break
        files.append(Path(spec.origin))
        if spec.submodule_search_locations is None:  # a module: what follows are names in it
            break
    return files


def build_py_files(application: Path = config.ANALYZE_JOB_PATH) -> Path:
    """Zip the modules ``application`` imports (:func:`job_modules`) for ``--py-files``."""
    name = "ticket_job" if application == config.ANALYZE_JOB_PATH else application.stem
    target = config.PLATFORM_DIR / "build" / f"{name}.zip"
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(f".zip.tmp-{os.getpid()}-{id(target)}")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in job_modules(application):
            package_root = next(p for p in path.parents if p.name in JOB_PACKAGES).parent
            archive.write(path, path.relative_to(package_root))
    tmp.replace(target)
    return target


def submission(
    job_args: list[str],
    application: Path = config.ANALYZE_JOB_PATH,
    cds: bool = True,
    extra_java_options: tuple[str, ...] = (),
) -> Submission:
    """The submission of ``application`` with ``job_args``: connector jars, the job's modules,
    ``include/spark-defaults.conf``, driver memory and JVM options (``cds``: map the class-data
    sharing archive; ``extra_java_options``: more driver JVM options)."""
    return Submission(
        application=str(application),
        application_args=list(job_args),
        conf={
            "spark.driver.memory": config.spark_driver_memory(),
            "spark.driver.extraJavaOptions": driver_java_options(cds, extra_java_options),
        },
        jars=",".join(str(jar) for jar in spark_kafka_jars()),
        py_files=str(build_py_files(application)),
        properties_file=str(config.SPARK_DEFAULTS_PATH),
        name=application.stem if application != config.ANALYZE_JOB_PATH else JOB_NAME,
    )


def spark_submit_command(
    job_args: list[str],
    application: Path = config.ANALYZE_JOB_PATH,
    cds: bool = True,
    extra_java_options: tuple[str, ...] = (),
) -> list[str]:
    """The spark-submit command line of :func:`submission`."""
    return submission(job_args, application, cds, extra_java_options).command()


def main(argv: list[str] | None = None) -> int:
    """``python -m ticket_etl.spark_submit <job args>``: run the analysis job by hand."""
    import subprocess
    import sys

    return subprocess.run(spark_submit_command(list(sys.argv[1:] if argv is None else argv))).returncode


if __name__ == "__main__":
    raise SystemExit(main())
