"""The schema registry of the local stack: Apicurio Registry, the runnable distribution that Maven
Central publishes, on 127.0.0.1 at SCHEMA_REGISTRY_URL's port (18081, the proof of concept's).

    python -m ticket_devstack.registry_service fetch|start|stop|status [--root DIR]

Its schemas are kept in the stack's PostgreSQL (database ``registry``, owned by a role of the same
name whose password is generated here and kept beside the server's, in
``$AIRFLOW_HOME/registry.secret``, mode 0600; the registry reads it from
``<root>/config/application.properties``, mode 0600, never from its command line or environment). Why PostgreSQL rather than
a compacted Kafka topic: the registry's ids are written into every record's headers, so they must
outlive the Kafka cluster (the stack can move to a new one and keep its landed hours), and the
server is already there, backed up with Airflow's metadata.

When SCHEMA_REGISTRY_URL names another machine nothing is started here: ``start`` checks that
it answers.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
import tarfile
import time
from pathlib import Path
from urllib.parse import urlsplit

from ticket_devstack import postgres_service
from ticket_devstack.processes import LOCAL_HOSTS
from ticket_devstack.service import (
    Command,
    Daemon,
    ServiceError,
    check_port_free,
    lifecycle_commands,
    root_option,
    run_cli,
    wait_until_ready,
    write_private,
)
from ticket_etl import config
from ticket_etl.config import PLATFORM_DIR
from ticket_etl.jvm import java_executable

VERSION = "3.0.9"  # 3.1+ needs Java 21; docker-compose.yml runs the same version's image
ARTIFACT = f"io.apicurio:apicurio-registry-app:{VERSION}:tar.gz:all"
DIST_DIR = PLATFORM_DIR / "registry-dist" / VERSION
RUNNER = DIST_DIR / f"apicurio-registry-app-{VERSION}-runner.jar"
STACK_ROOT = PLATFORM_DIR / "registry"
DATABASE = ROLE = "registry"
SECRET_NAME = "registry.secret"
HEAP = "-Xmx384m"
START_DEADLINE_S = 120.0
READY_PATH = "/health/ready"


def fetch() -> bool:
    """Download the distribution with Maven and unpack it (once). Returns True if it downloaded."""
    if RUNNER.is_file():
        return False
    if shutil.which("mvn") is None:
        raise ServiceError("Maven (mvn) is not on PATH: install Maven 3.8+ (see README, Prerequisites)")
    staging = DIST_DIR.with_name(DIST_DIR.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    print(f"fetching the schema registry {ARTIFACT} with Maven into {DIST_DIR}", flush=True)
    command = ["mvn", "-q", "-B", "dependency:copy", f"-Dartifact={ARTIFACT}", f"-DoutputDirectory={staging}"]
    if subprocess.run(command, check=False).returncode != 0:
        raise ServiceError(f"Maven could not fetch {ARTIFACT}")
    (archive,) = staging.glob("*.tar.gz")
    unpack(archive, staging)
    archive.unlink()
    shutil.rmtree(DIST_DIR, ignore_errors=True)
    staging.rename(DIST_DIR)
    return True


def unpack(archive: Path, target: Path) -> None:
    """Unpack a tar archive into ``target``, refusing any member that is not a plain file or
    folder or that would land outside ``target``: what tarfile's ``data`` filter enforces, which
    Python 3.11 only has from 3.11.4 (Debian 12's is 3.11.2)."""
    root = target.resolve()
    with tarfile.open(archive) as tar:
        members = tar.getmembers()
        for member in members:
            inside = (root / member.name).resolve().is_relative_to(root)
            if not inside or not (member.isfile() or member.isdir()):
                raise ServiceError(
                    f"{archive.name}: refusing to unpack {member.name!r} (not a plain file inside)"
                )
        tar.extraction_filter = getattr(tarfile, "fully_trusted_filter", None)  # checked above
        tar.extractall(root, members=members)


def local_port() -> int | None:
    """The port to run the registry on, or None when SCHEMA_REGISTRY_URL names another machine."""
    url = urlsplit(config.schema_registry_url())
    return url.port if url.hostname in LOCAL_HOSTS else None


def daemon(root: Path, port: int) -> Daemon:
    return Daemon(
        "registry", root / "registry.pid", root / "registry.log", (RUNNER.name, f"-Dquarkus.http.port={port}")
    )


def _secret(server: postgres_service.Server) -> str:
    """The registry role's password, kept beside the server's own (made the first time): every
    registry on that server uses the same one."""
    path = server.passfile.with_name(SECRET_NAME)
    if not path.is_file():
        write_private(path, secrets.token_urlsafe(32) + "\n")
    return path.read_text().strip()


def _write_settings(root: Path, server: postgres_service.Server, secret: str) -> None:
    """Apicurio's storage settings, with the database password, in the file Quarkus reads from
    its working folder (``config/application.properties``, mode 0600): never in the command
    line nor the environment."""
    settings = {
        "apicurio.storage.kind": "sql",
        "apicurio.storage.sql.kind": "postgresql",
        "apicurio.datasource.url": f"jdbc:postgresql://127.0.0.1:{server.port}/{DATABASE}",
        "apicurio.datasource.username": ROLE,
        "apicurio.datasource.password": secret,
    }
    lines = ["# Written by ticket_devstack.registry_service at each start."]
    lines += [f"{key}={value}" for key, value in settings.items()]
    write_private(root / "config" / "application.properties", "\n".join(lines) + "\n")


def _ready(url: str) -> bool:
    """Whether the registry at ``url`` says it is ready (its storage reached)."""
    import httpx

    try:
        return httpx.get(f"{url}{READY_PATH}", timeout=5).status_code == 200
    except httpx.TransportError:
        return False


def start(root: Path = STACK_ROOT) -> int | None:
    """Start the registry (its database made the first time); returns its pid, None when it runs
    elsewhere (then it must answer)."""
    port = local_port()
    if port is None:
        url = config.schema_registry_url()
        if not _ready(url):
            raise ServiceError(f"the schema registry at {url} (SCHEMA_REGISTRY_URL) does not answer")
        print(f"registry: {url} answers (not started here)")
        return None
    registry = daemon(root, port)
    if (pid := registry.pid()) is not None:
        print(f"registry: already running on 127.0.0.1:{port} (pid {pid})")
        return pid
    check_port_free(port, "SCHEMA_REGISTRY_URL")
    if not RUNNER.is_file():
        raise ServiceError(f"the schema registry is not installed ({RUNNER} missing): run `make setup`")
    server = postgres_service.start() or postgres_service.managed_server()
    if server is None:
        raise ServiceError(
            "the schema registry keeps its schemas in the stack's PostgreSQL, which is not managed here"
        )
    root.mkdir(parents=True, exist_ok=True)
    secret = _secret(server)
    postgres_service.ensure_owned_database(server, ROLE, DATABASE, secret)
    command = [str(java_executable()), HEAP, f"-Dquarkus.http.port={port}", "-Dquarkus.http.host=127.0.0.1"]
    started = time.monotonic()
    _write_settings(root, server, secret)
    process = registry.spawn([*command, "-jar", str(RUNNER)], cwd=root)
    wait_until_ready(
        {registry: process},
        lambda: _ready(f"http://127.0.0.1:{port}"),
        START_DEADLINE_S,
        f"answer on 127.0.0.1:{port}",
    )
    print(
        f"registry: started on 127.0.0.1:{port} in {time.monotonic() - started:.0f}s (schemas in PostgreSQL database {DATABASE})"
    )
    return process.pid


def stop(root: Path = STACK_ROOT) -> bool:
    port = local_port()
    stopped = daemon(root, port).stop() if port is not None else None
    print("registry: stopped" if stopped else "registry: not running")
    return bool(stopped)


def status_line(root: Path = STACK_ROOT) -> str | None:
    port = local_port()
    if port is None:
        return None
    pid = daemon(root, port).pid()
    return f"running on 127.0.0.1:{port} (pid {pid})" if pid is not None else None


COMMANDS = {
    "fetch": Command(lambda _: fetch(), "download and unpack the distribution (once)"),
    **lifecycle_commands(
        "registry",
        lambda args: start(args.root),
        lambda args: stop(args.root),
        lambda args: status_line(args.root),
        "start it on 127.0.0.1 (its PostgreSQL database made the first time)",
    ),
}


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    return run_cli(__doc__.splitlines()[0], COMMANDS, argv, common=root_option(STACK_ROOT))


if __name__ == "__main__":
    raise SystemExit(main())
