"""The process that runs Airflow's components (ticket_devstack.airflow_components) stops them all
as soon as one exits, and says which: a dead scheduler must not leave a half-running Airflow."""

from __future__ import annotations

import subprocess
import sys
import time

import psutil

from ticket_devstack import airflow_components


def test_the_stack_runs_no_log_server() -> None:
    """The scheduler and the triggerer would otherwise serve logs on every interface."""
    by_name = {command[0]: command[1:] for command in airflow_components.COMPONENTS}
    assert set(by_name) == {"scheduler", "dag-processor", "triggerer", "api-server"}
    assert "--skip-serve-logs" in by_name["scheduler"] and "--skip-serve-logs" in by_name["triggerer"]


def test_one_component_exiting_stops_the_others_and_gives_its_code(tmp_path, capsys) -> None:
    pid_file = tmp_path / "survivor.pid"
    written = tmp_path / "survivor.pid.tmp"
    survivor = (
        f"import os, time; open({str(written)!r}, 'w').write(str(os.getpid())); "
        f"os.rename({str(written)!r}, {str(pid_file)!r}); time.sleep(120)"
    )
    # Exits once the survivor is up (its pid file written whole), within a minute.
    dying = (
        "import os, sys, time\n"
        "deadline = time.monotonic() + 60\n"
        f"while not os.path.exists({str(pid_file)!r}) and time.monotonic() < deadline:\n"
        "    time.sleep(0.05)\n"
        "sys.exit(3)"
    )
    started = time.monotonic()
    code = airflow_components.run([(sys.executable, "-c", survivor), (sys.executable, "-c", dying)])
    assert code == 3
    assert time.monotonic() - started < 90
    assert not psutil.pid_exists(int(pid_file.read_text()))  # stopped and reaped
    assert "exited with code 3: stopping the others" in capsys.readouterr().out


def test_a_component_that_exits_cleanly_still_fails_the_stack() -> None:
    code = airflow_components.run([(sys.executable, "-c", "import time; time.sleep(120)"), ("true",)])
    assert code == 1


def test_stop_also_stops_the_standalone_of_an_older_version(tmp_path, monkeypatch) -> None:
    """After an update, `make stop` stops the `airflow standalone` the previous version started
    (its pid file and command line), not only the new process of the components."""
    from ticket_devstack import airflow_service

    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path))
    older = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", "standalone"])
    (tmp_path / "standalone.pid").write_text(f"{older.pid}\n")
    assert airflow_service.stop(deadline_s=10) is True
    assert not psutil.pid_exists(older.pid)  # stopped and reaped
    assert airflow_service.stop(deadline_s=10) is False  # nothing left
