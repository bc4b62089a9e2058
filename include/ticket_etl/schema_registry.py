"""The ticket contract in the schema registry (Apicurio Registry, through its Confluent-compatible
API): the schema files under ``include/schemas/`` are the source of truth; the registry holds them
as the versions of subject ``client_tickets-value`` under a compatibility rule, so that a breaking
change is refused before a producer writes it (issue 24).

Compatibility is ``BACKWARD``: a consumer (the job) using the newest version reads every record
written under an older one, which is what one run over an hour mixing versions needs. The
registry's JSON Schema checks read draft-07 only (draft 2020-12 fails there), hence the files'
``$schema``.
"""

from __future__ import annotations

import hashlib
import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from ticket_etl import config, schema

SCHEMA_ID_HEADER = "schema_id"  # the registry's id of the schema a record was written with (decimal)
COMPATIBILITY = "BACKWARD"
API = "/apis/ccompat/v7"
TIMEOUT_S = 10.0
CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"
REFUSALS = (409, 422)  # an incompatible or an invalid schema: the same request fails again


class RegistryError(RuntimeError):
    """The registry did not answer, or refused; the message names its address and the reason.
    ``refused``: it answered with a refusal (a schema its rule rejects): asking again cannot help."""

    def __init__(self, message: str, refused: bool = False, status: int | None = None) -> None:
        super().__init__(message)
        self.refused = refused
        self.status = status


@dataclass(frozen=True)
class Registered:
    """The subject's state once :func:`register_contract` ran: the registry's id of each schema
    version (by the file's version number) and the compatibility rule."""

    subject: str
    ids: dict[int, int]
    compatibility: str


@dataclass(frozen=True)
class SchemaVersion:
    """One version of a subject as the registry holds it."""

    version: int
    id: int  # what a record's ``schema_id`` header names
    text: str

    @cached_property
    def ticket_schema(self) -> schema.TicketSchema:
        return schema.TicketSchema.parse(self.version, self.text)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()


@dataclass(frozen=True)
class Snapshot:
    """A subject's versions and rule, read once: what a run of the job validates records with
    (so it needs the registry only when it starts) and records in its summary."""

    url: str
    subject: str
    compatibility: str
    versions: tuple[SchemaVersion, ...]

    def by_id(self) -> dict[int, SchemaVersion]:
        return {entry.id: entry for entry in self.versions}

    def as_dict(self) -> dict[str, Any]:
        return {
            "registry": self.url,
            "subject": self.subject,
            "compatibility": self.compatibility,
            "versions": [
                {"version": entry.version, "id": entry.id, "sha256": entry.sha256} for entry in self.versions
            ],
        }


def subject_for(topic: str) -> str:
    """Confluent's TopicNameStrategy: the value schema of ``topic``."""
    return f"{topic}-value"


def ticket_subject() -> str:
    """The ticket contract's subject: the value schema of the source topic (TOPIC_NAME)."""
    return subject_for(config.source_topic())


def snapshot(url: str | None = None, subject: str | None = None) -> Snapshot:
    """Every version of ``subject`` (default: :func:`ticket_subject`) and its rule. A subject
    without versions is a :class:`RegistryError` that is a refusal (register the contract first:
    the DAG's ``register_schema`` task does)."""
    url, subject = url or config.schema_registry_url(), subject or ticket_subject()
    try:
        numbers = _call(url, "GET", f"/subjects/{subject}/versions")
    except RegistryError as error:
        if error.status != 404:
            raise
        raise RegistryError(
            f"the schema registry at {url} holds no subject {subject}: register the ticket contract "
            "first (the DAG's register_schema task, or python -m ticket_etl.schema_registry)",
            refused=True,
        ) from None
    entries = []
    for number in sorted(numbers):
        answer = _call(url, "GET", f"/subjects/{subject}/versions/{number}")
        entries.append(SchemaVersion(version=answer["version"], id=answer["id"], text=answer["schema"]))
    return Snapshot(url, subject, _rule(url, subject), tuple(entries))


def subjects(url: str | None = None) -> list[str]:
    """Every subject the registry holds, sorted."""
    return sorted(_call(url or config.schema_registry_url(), "GET", "/subjects"))


def schema_id(version: int, url: str | None = None, subject: str | None = None) -> int:
    """The registry's id of the committed ``version`` of the ticket schema (what a producer
    writing that version puts in the :data:`SCHEMA_ID_HEADER` header); a version the registry
    does not hold is a refusal naming it."""
    url, subject = url or config.schema_registry_url(), subject or ticket_subject()
    body = {"schemaType": "JSON", "schema": schema.versions()[version].read_text(encoding="utf-8")}
    try:
        return int(_call(url, "POST", f"/subjects/{subject}", body)["id"])
    except RegistryError as error:
        if error.status != 404:
            raise
        raise RegistryError(
            f"version {version} of the ticket schema is not registered under {subject} at {url}: "
            "register the contract first",
            refused=True,
        ) from None


def register_contract(url: str | None = None, topic: str | None = None) -> Registered:
    """Set the compatibility rule, then register every committed schema version in order
    (idempotent: a version registered before gets its id back). A version the rule refuses
    raises :class:`RegistryError` naming the file and the registry's reason."""
    url = url or config.schema_registry_url()
    subject = subject_for(topic or config.source_topic())
    _call(url, "PUT", f"/config/{subject}", {"compatibility": COMPATIBILITY})
    ids = {}
    for version, path in schema.versions().items():
        body = {"schemaType": "JSON", "schema": path.read_text(encoding="utf-8")}
        try:
            ids[version] = _call(url, "POST", f"/subjects/{subject}/versions", body)["id"]
        except RegistryError as error:
            if not error.refused:
                raise
            raise RegistryError(f"{path.name} refused for {subject}: {error}", refused=True) from None
    return Registered(subject, ids, _rule(url, subject))


def is_compatible(schema_text: str, url: str | None = None, topic: str | None = None) -> bool:
    """Whether the registry's rule accepts ``schema_text`` as the subject's next version."""
    subject = subject_for(topic or config.source_topic())
    body = {"schemaType": "JSON", "schema": schema_text}
    answer = _call(
        url or config.schema_registry_url(),
        "POST",
        f"/compatibility/subjects/{subject}/versions/latest",
        body,
    )
    return bool(answer["is_compatible"])


def _rule(url: str, subject: str) -> str:
    return _call(url, "GET", f"/config/{subject}")["compatibilityLevel"]


def _call(url: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    """One call of the Confluent-compatible API (the standard library only: the Spark job's driver
    calls it too); :class:`RegistryError` with one line otherwise."""
    request = urllib.request.Request(
        f"{url}{API}{path}",
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": CONTENT_TYPE, "Accept": CONTENT_TYPE},
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as error:
        message = f"the schema registry at {url} answered {error.code}: {_reason(error.read())}"
        raise RegistryError(message, refused=error.code in REFUSALS, status=error.code) from None
    except (urllib.error.URLError, OSError) as error:
        cause = getattr(error, "reason", error)
        raise RegistryError(
            f"the schema registry at {url} does not answer ({type(cause).__name__}: {cause})"
        ) from None


def _reason(content: bytes) -> str:
    text = content.decode(errors="replace")
    try:
        return str(json.loads(text).get("message", text))[:500]
    except (ValueError, AttributeError):
        return text[:500]
