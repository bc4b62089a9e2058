"""The schema registry of the stack (issue 24, items 1, 2 and 5), against the real registry that
`make test` starts (Apicurio Registry, its schemas in the test PostgreSQL): the ticket contract
registered idempotently under the BACKWARD rule, an added optional field accepted, a breaking
change refused with one line, an unreachable registry named; and the service itself (a second
instance on the same database sees the same subjects, on loopback, with its password out of
sight)."""

from __future__ import annotations

import json
import os
import stat
import uuid
from pathlib import Path

import psutil
import pytest

from ticket_devstack import postgres_service, registry_service
from ticket_etl import schema
from ticket_etl.schema_registry import COMPATIBILITY, RegistryError, is_compatible, register_contract

pytestmark = pytest.mark.integration


@pytest.fixture
def topic() -> str:
    """A topic name of this test only: its subject starts empty."""
    return f"registry_{uuid.uuid4().hex[:8]}"


def _changed(**properties: dict) -> str:
    """The committed schema with ``properties`` added or replaced."""
    document = json.loads(schema.SCHEMA_PATH.read_text())
    document["properties"].update(properties)
    return json.dumps(document)


def test_the_contract_is_registered_once_under_the_backward_rule(topic: str) -> None:
    first = register_contract(topic=topic)
    again = register_contract(topic=topic)
    assert first.subject == f"{topic}-value" and first.compatibility == COMPATIBILITY
    assert set(first.ids) == set(schema.versions()) and again.ids == first.ids  # idempotent


def test_an_optional_field_is_compatible_and_a_type_change_is_not(topic: str) -> None:
    register_contract(topic=topic)
    tags = {"type": "array", "items": {"type": "string", "maxLength": 40}}
    assert is_compatible(_changed(tags=tags), topic=topic)
    assert not is_compatible(_changed(priority={"type": "integer"}), topic=topic)


def test_a_breaking_version_is_refused_with_one_line_naming_the_file(
    topic: str, tmp_path: Path, monkeypatch
) -> None:
    """A v3 after the committed versions that changes a field's type, then one that removes a
    required field: the registry refuses each (409), and the error names the file, the subject
    and the registry's diff; it is a refusal, not an outage. v1 and v2 stay registered."""
    committed = schema.versions()
    removed = json.loads(_changed())
    removed["required"].remove("client_id")
    del removed["properties"]["client_id"]
    for change, where in (
        (_changed(priority={"type": "integer"}), "/properties/priority"),
        (json.dumps(removed), "/propertySchemasRemoved"),
    ):
        breaking = tmp_path / "ticket.v3.schema.json"
        breaking.write_text(change)
        monkeypatch.setattr(schema, "versions", lambda path=breaking: {**committed, 3: path})
        with pytest.raises(RegistryError) as refused:
            register_contract(topic=topic)
        message = str(refused.value)
        assert refused.value.refused and "\n" not in message
        assert message.startswith(f"ticket.v3.schema.json refused for {topic}-value")
        assert where in message
    monkeypatch.setattr(schema, "versions", lambda: committed)
    assert set(register_contract(topic=topic).ids) == {1, 2}


def test_an_unreachable_registry_is_named() -> None:
    with pytest.raises(
        RegistryError, match=r"the schema registry at http://127\.0\.0\.1:9 does not answer"
    ) as down:
        register_contract(url="http://127.0.0.1:9", topic="any")
    assert not down.value.refused  # worth a retry


def test_a_second_registry_on_the_same_database_sees_the_same_subjects(
    topic: str, tmp_path: Path, monkeypatch
) -> None:
    """Schemas live in PostgreSQL, not in the process: another instance (a restart) serves them.
    It listens on loopback only, and its database password is in no command line."""
    first = register_contract(topic=topic)
    port = 28281 + int(os.environ.get("TEST_KAFKA_PORT", "0")) % 100
    monkeypatch.setenv("SCHEMA_REGISTRY_URL", f"http://127.0.0.1:{port}")
    root = tmp_path / "second"
    pid = registry_service.start(root)
    try:
        assert register_contract(topic=topic).ids == first.ids  # the second instance's answer
        process = psutil.Process(pid)
        listening = {
            c.laddr.ip for c in process.net_connections(kind="tcp") if c.status == psutil.CONN_LISTEN
        }
        assert listening and all(ip.endswith("127.0.0.1") for ip in listening), listening
        server = postgres_service.managed_server()
        secret_file = server.passfile.with_name(registry_service.SECRET_NAME)
        assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
        assert secret_file.read_text().strip() not in " ".join(process.cmdline())
    finally:
        assert registry_service.stop(root)
