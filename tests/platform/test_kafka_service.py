"""The local broker service: idempotent start, stale pid files, ports taken by other programs."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from ticket_devstack import kafka_service
from ticket_devstack.service import ServiceError

pytestmark = pytest.mark.integration


def test_starting_a_running_broker_is_a_no_op(kafka_layout: kafka_service.BrokerLayout) -> None:
    pid = kafka_service.running_pid(kafka_layout)
    assert pid is not None
    assert kafka_service.start(kafka_layout) == [pid]


def test_stop_survives_a_stale_pid_file(tmp_path: Path) -> None:
    layout = kafka_service.BrokerLayout(tmp_path, 1, 2)
    layout.pid_file.write_text(f"{os.getpid()}\n")  # alive, but not a broker
    assert kafka_service.stop(layout) is False
    assert not layout.pid_file.exists()
    layout.pid_file.write_text("not a pid\n")
    assert kafka_service.stop(layout) is False


def test_a_port_taken_by_another_program_gives_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        layout = kafka_service.BrokerLayout(tmp_path, port, port + 1)
        with pytest.raises(
            ServiceError,
            match=f"port {port} is already in use by another program; stop it or set KAFKA_BROKER",
        ):
            kafka_service.start(layout)
    assert not layout.pid_file.exists()
