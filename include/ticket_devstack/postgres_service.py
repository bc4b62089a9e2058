"""Airflow's metadata database for the local stack: a PostgreSQL server from the pgserver wheel.

    python -m ticket_devstack.postgres_service start|stop|status|delete

Why not SQLite, Airflow's default: SQLite has one write lock for the whole file, and Airflow's
API server writes its audit log (a trigger, a pause) from its event loop. When another request
holds the lock, that write blocks the event loop, the lock holder cannot finish, and every
Airflow component waits for the busy timeout; then the request fails. PostgreSQL locks rows.

The server is the one named by AIRFLOW__DATABASE__SQL_ALCHEMY_CONN (include/env.sh builds it
from AIRFLOW_DB_PORT) when that is a PostgreSQL URL on this machine; its data lives in
``$AIRFLOW_HOME/postgres``. It listens on 127.0.0.1 only and asks every client for the password
(scram-sha-256) generated when the cluster is made and kept in ``$AIRFLOW_HOME/postgres.pgpass``
(mode 0600; a libpq password file, which Airflow's drivers read through PGPASSFILE, set by
include/env.sh). A cluster made by an older version that trusted every local connection is
switched to passwords on its next start.

PostgreSQL refuses to run as root: as root, the server runs as ``nobody``, which then owns the
data directory. When ``nobody`` cannot reach the project (say, under a private /root), the
programs are copied to, and the data kept in, FALLBACK_ROOT instead.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import os
import pwd
import re
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ticket_devstack.processes import LOCAL_HOSTS
from ticket_devstack.service import (
    Command,
    ServiceError,
    check_port_free,
    lifecycle_commands,
    make_private,
    run_cli,
    write_private,
)

if TYPE_CHECKING:
    from psycopg2.extensions import connection as Connection

START_DEADLINE_S = 60
UNPRIVILEGED_USER = "nobody"
FALLBACK_ROOT = Path("/var/tmp/ticket-etl-postgres")
PASSFILE_NAME = "postgres.pgpass"  # include/env.sh points PGPASSFILE at it too
AUTH_METHOD = "scram-sha-256"
# Who may connect, and how: the URL's user, with its password, over loopback or the socket
# (which lives in the data directory, where only the server's user can go).
HBA = f"""# Written by ticket_devstack.postgres_service: a password for every connection.
# TYPE  DATABASE  USER  ADDRESS       METHOD
local   all       all                 {AUTH_METHOD}
host    all       all   127.0.0.1/32  {AUTH_METHOD}
host    all       all   ::1/128       {AUTH_METHOD}
"""


class PostgresServiceError(ServiceError):
    """The metadata database could not be set up, started or stopped; the message says why."""


@dataclass(frozen=True)
class Server:
    """The local server that Airflow's connection URL names."""

    port: int
    user: str
    database: str
    data_dir: Path
    bin_dir: Path
    passfile: Path

    @property
    def log_file(self) -> Path:
        return self.data_dir.parent / "postgres.log"

    @property
    def initialized(self) -> bool:
        return (self.data_dir / "PG_VERSION").is_file()

    @property
    def hba_file(self) -> Path:
        return self.data_dir / "pg_hba.conf"


def managed_server() -> Server | None:
    """The server to run here, or None when Airflow's database is not a local PostgreSQL (SQLite,
    or a server run by someone else)."""
    url = urlsplit(os.environ.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", ""))
    if not url.scheme.startswith("postgresql") or url.hostname not in LOCAL_HOSTS:
        return None
    home = os.environ.get("AIRFLOW_HOME")
    if not home:
        raise PostgresServiceError("AIRFLOW_HOME is not set: source include/env.sh or use make")
    bin_dir, data_dir = _locations(Path(home))
    user, database = url.username or "airflow", url.path.lstrip("/")
    return Server(url.port or 5432, user, database, data_dir, bin_dir, Path(home) / PASSFILE_NAME)


def _pgserver_site() -> Path:
    """The folder holding the pgserver wheel's files (located, not imported: its import has side
    effects we do not need)."""
    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise PostgresServiceError("pgserver is not installed: run make setup")
    return Path(spec.submodule_search_locations[0]).parent


# What the server needs of the wheel, in the wheel's layout: the programs find their libraries
# through a relative RPATH ($ORIGIN/../../../pgserver.libs).
PROGRAMS = Path("pgserver/pginstall/bin")
WHEEL_PARTS = ("pgserver/pginstall", "pgserver.libs")


def _fallback_site() -> Path:
    return FALLBACK_ROOT / f"pgserver-{importlib.metadata.version('pgserver')}"


def _reachable_by_server_user(*paths: Path) -> bool:
    """True when UNPRIVILEGED_USER can enter every path (or, for one not made yet, its nearest
    existing parent)."""
    existing = [next(p for p in (path, *path.parents) if p.exists()) for path in paths]
    probe = subprocess.run(
        ["/bin/sh", "-c", 'for p in "$@"; do test -x "$p" || exit 1; done', "probe", *map(str, existing)],
        capture_output=True,
        **_as_server_user(),
    )
    return probe.returncode == 0


def _locations(airflow_home: Path) -> tuple[Path, Path]:
    """(programs folder, data folder): in the wheel and in the Airflow home, unless root must hand
    the server to a user that cannot reach them; then under FALLBACK_ROOT, one folder per home."""
    programs = _pgserver_site() / PROGRAMS
    if os.geteuid() != 0 or _reachable_by_server_user(programs / "postgres", airflow_home):
        return programs, airflow_home / "postgres"
    key = hashlib.sha256(str(airflow_home.resolve()).encode()).hexdigest()[:12]
    return _fallback_site() / PROGRAMS, FALLBACK_ROOT / key / "postgres"


def _ensure_programs(server: Server) -> None:
    """Copy the wheel's PostgreSQL to the fallback folder when the server runs from there."""
    if server.bin_dir == _pgserver_site() / PROGRAMS or (server.bin_dir / "postgres").is_file():
        return
    FALLBACK_ROOT.mkdir(mode=0o755, parents=True, exist_ok=True)
    target = _fallback_site()
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    for part in WHEEL_PARTS:
        shutil.copytree(_pgserver_site() / part, staging / part)
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)


def _as_server_user() -> dict:
    """subprocess arguments that drop root to UNPRIVILEGED_USER; nothing when not root."""
    if os.geteuid() != 0:
        return {}
    account = pwd.getpwnam(UNPRIVILEGED_USER)
    return {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": [], "cwd": "/"}


def _hand_to_server_user(path: Path) -> None:
    """As root, give ``path`` to UNPRIVILEGED_USER, which runs the server."""
    if os.geteuid() == 0:
        account = pwd.getpwnam(UNPRIVILEGED_USER)
        os.chown(path, account.pw_uid, account.pw_gid)


def _run(command: list[str], what: str) -> str:
    result = subprocess.run(command, capture_output=True, text=True, **_as_server_user())
    if result.returncode != 0:
        raise PostgresServiceError(f"{what} failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    return result.stdout


def _trusts(server: Server) -> bool:
    """True when the cluster lets clients in without a password (made by an older version)."""
    lines = (line.split("#")[0].split() for line in server.hba_file.read_text().splitlines())
    return any(fields and fields[-1] == "trust" for fields in lines)


def password(server: Server) -> str:
    """The password of the URL's user, from the server's password file (made here when the
    cluster is new or still trusts everyone; a file of an older version is narrowed to 0600)."""
    if server.passfile.is_file():
        make_private(server.passfile)
        match = re.search(r"^[^:#]*:[^:]*:[^:]*:[^:]*:(.+)$", server.passfile.read_text(), re.MULTILINE)
        if match:
            return match.group(1)
    if server.initialized and not _trusts(server):
        raise PostgresServiceError(
            f"the metadata database in {server.data_dir} asks for a password, but {server.passfile} "
            "does not hold it: restore that file, or delete the database (`make clean`, or "
            "`python -m ticket_devstack.postgres_service delete`) and set up again"
        )
    secret = secrets.token_urlsafe(32)  # letters, digits, '-' and '_': nothing a passfile escapes
    lines = [f"{host}:*:*:{server.user}:{secret}" for host in sorted(LOCAL_HOSTS)]
    write_private(server.passfile, "\n".join(lines) + "\n")
    return secret


@contextmanager
def _server_readable_file(server: Server, text: str) -> Iterator[Path]:
    """A file only the server's user can read (initdb reads the password from one), deleted after."""
    path = server.data_dir.parent / ".initdb-password"
    write_private(path, text)
    _hand_to_server_user(path)
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


def _initialize(server: Server, secret: str) -> None:
    """A new cluster whose superuser is the URL's user, with ``secret`` as its password."""
    server.data_dir.mkdir(parents=True, exist_ok=True)
    server.data_dir.chmod(0o700)
    _hand_to_server_user(server.data_dir)
    with _server_readable_file(server, secret + "\n") as pwfile:
        options = ["-E", "UTF8", f"--auth={AUTH_METHOD}", f"--pwfile={pwfile}", "--no-instructions"]
        _run(
            [str(server.bin_dir / "initdb"), "-D", str(server.data_dir), "-U", server.user, *options],
            "initdb",
        )
    server.hba_file.write_text(HBA)


def _pg_ctl_start(server: Server, listen: str) -> None:
    """Start the server, listening on ``listen`` ('' for its socket only), and wait for it."""
    server.log_file.touch()
    _hand_to_server_user(server.log_file)
    options = f"-p {server.port} -c listen_addresses='{listen}' -k {server.data_dir}"
    wait = ["-w", "-t", str(START_DEADLINE_S)]
    _run(
        [
            str(server.bin_dir / "pg_ctl"),
            "start",
            "-D",
            str(server.data_dir),
            "-l",
            str(server.log_file),
            *wait,
            "-o",
            options,
        ],
        f"starting PostgreSQL (log: {server.log_file})",
    )


def _pg_ctl_stop(server: Server) -> None:
    """Fast shutdown (open sessions are rolled back)."""
    _run(
        [str(server.bin_dir / "pg_ctl"), "stop", "-D", str(server.data_dir), "-m", "fast", "-w"],
        "stopping PostgreSQL",
    )


def _require_password(server: Server, secret: str) -> None:
    """Switch a cluster that trusts every local connection to ``secret`` (scram-sha-256): set the
    password over the server's socket, reachable only by its user, with TCP off meanwhile, then
    replace pg_hba.conf. The server is left stopped."""
    print("postgres: the metadata database let local clients in without a password; setting one")
    if running(server):
        _pg_ctl_stop(server)
    _pg_ctl_start(server, listen="")
    try:
        connection = connect(server, "postgres", host=str(server.data_dir), password="")
        try:
            _set_password(connection, server.user, secret)
        finally:
            connection.close()
        server.hba_file.write_text(HBA)
    finally:
        _pg_ctl_stop(server)


def _set_password(connection: Connection, user: str, secret: str) -> None:
    """Give ``user`` the password ``secret``: only its SCRAM verifier, computed here, is sent."""
    from psycopg2 import sql
    from psycopg2.extensions import encrypt_password

    connection.autocommit = True
    verifier = encrypt_password(secret, user, connection, AUTH_METHOD)
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("ALTER ROLE {} PASSWORD %s").format(sql.Identifier(user)), (verifier,))


def connect(server: Server, dbname: str, host: str = "127.0.0.1", password: str | None = None) -> Connection:
    """A connection as the URL's user; its password from the server's password file unless given."""
    import psycopg2

    credentials = {"passfile": str(server.passfile)} if password is None else {"password": password}
    return psycopg2.connect(host=host, port=server.port, user=server.user, dbname=dbname, **credentials)


def running(server: Server) -> bool:
    """True when the server of an initialized cluster is up (``pg_ctl status``)."""
    if not server.initialized or not (server.bin_dir / "pg_ctl").is_file():
        return False
    result = subprocess.run(
        [str(server.bin_dir / "pg_ctl"), "status", "-D", str(server.data_dir)],
        capture_output=True,
        **_as_server_user(),
    )
    return result.returncode == 0


def _ensure_database(server: Server) -> None:
    from psycopg2 import sql

    connection = connect(server, "postgres")
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (server.database,))
            if cursor.fetchone() is None:
                cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(server.database)))
    finally:
        connection.close()


def ensure_owned_database(server: Server, role: str, database: str, secret: str) -> None:
    """A login ``role`` with password ``secret`` that owns ``database`` (another service's storage
    in the stack's server, e.g. the schema registry's); the password is set again each time."""
    from psycopg2 import sql

    connection = connect(server, "postgres")
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,))
            if cursor.fetchone() is None:
                cursor.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
        _set_password(connection, role, secret)
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,))
            if cursor.fetchone() is None:
                owned = sql.SQL("CREATE DATABASE {} OWNER {}")
                cursor.execute(owned.format(sql.Identifier(database), sql.Identifier(role)))
    finally:
        connection.close()


def start() -> Server | None:
    """Initialize (the first time) and start the server, and create Airflow's database in it."""
    server = managed_server()
    if server is None:
        print("postgres: not managed here (AIRFLOW__DATABASE__SQL_ALCHEMY_CONN is not a local PostgreSQL)")
        return None
    if not running(server):  # a port another program holds fails here, before anything is made
        check_port_free(server.port, "AIRFLOW_DB_PORT")
    server.data_dir.parent.mkdir(parents=True, exist_ok=True)
    _ensure_programs(server)
    secret = password(server)
    if not server.initialized:
        _initialize(server, secret)
    elif _trusts(server):
        _require_password(server, secret)
    if running(server):
        print(f"postgres: already running on 127.0.0.1:{server.port}")
        return server
    _pg_ctl_start(server, listen="127.0.0.1")
    _ensure_database(server)
    print(f"postgres: started on 127.0.0.1:{server.port} (data in {server.data_dir})")
    return server


def stop() -> bool:
    """Stop the server (fast shutdown: open sessions are rolled back). Returns True if it ran."""
    server = managed_server()
    if server is None or not running(server):
        print("postgres: not running")
        return False
    _pg_ctl_stop(server)
    print(f"postgres: stopped (127.0.0.1:{server.port})")
    return True


def delete() -> None:
    """Stop the server and delete its data, log and password file (make clean)."""
    server = managed_server()
    if server is None:
        return
    stop()
    shutil.rmtree(server.data_dir, ignore_errors=True)
    server.log_file.unlink(missing_ok=True)
    server.passfile.unlink(missing_ok=True)
    if server.data_dir.parent.parent == FALLBACK_ROOT:
        shutil.rmtree(server.data_dir.parent, ignore_errors=True)
    print(f"postgres: deleted {server.data_dir}")


def status_line() -> str | None:
    """``running on 127.0.0.1:<port>``, or None."""
    server = managed_server()
    return f"running on 127.0.0.1:{server.port}" if server is not None and running(server) else None


COMMANDS = {
    **lifecycle_commands(
        "postgres",
        lambda _: start(),
        lambda _: stop(),
        lambda _: status_line(),
        "set up (the first time) and start it",
    ),
    "delete": Command(lambda _: delete(), "stop the server and delete its data and password file"),
}


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    return run_cli(__doc__.splitlines()[0], COMMANDS, argv)


if __name__ == "__main__":
    raise SystemExit(main())
