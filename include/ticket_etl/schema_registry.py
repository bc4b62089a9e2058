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

import json
from dataclasses import dataclass
from typing import Any

from ticket_etl import config, schema

COMPATIBILITY = "BACKWARD"
API = "/apis/ccompat/v7"
TIMEOUT_S = 10.0
CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"
REFUSALS = (409, 422)  # an incompatible or an invalid schema: the same request fails again


class RegistryError(RuntimeError):
    """The registry did not answer, or refused; the message names its address and the reason.
    ``refused``: it answered with a refusal (a schema its rule rejects): asking again cannot help."""

    def __init__(self, message: str, refused: bool = False) -> None:
        super().__init__(message)
        self.refused = refused


@dataclass(frozen=True)
class Registered:
    """The subject's state once :func:`register_contract` ran: the registry's id of each schema
    version (by the file's version number) and the compatibility rule."""

    subject: str
    ids: dict[int, int]
    compatibility: str


def subject_for(topic: str) -> str:
    """Confluent's TopicNameStrategy: the value schema of ``topic``."""
    return f"{topic}-value"


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
    rule = _call(url, "GET", f"/config/{subject}")["compatibilityLevel"]
    return Registered(subject, ids, rule)


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


def _call(url: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    """One call of the Confluent-compatible API; :class:`RegistryError` with one line otherwise."""
    import httpx

    try:
        response = httpx.request(
            method,
            f"{url}{API}{path}",
            content=None if body is None else json.dumps(body),
            headers={"Content-Type": CONTENT_TYPE, "Accept": CONTENT_TYPE},
            timeout=TIMEOUT_S,
        )
    except httpx.TransportError as error:
        raise RegistryError(
            f"the schema registry at {url} does not answer ({type(error).__name__}: {error})"
        ) from None
    if response.status_code >= 400:
        message = f"the schema registry at {url} answered {response.status_code}: {_reason(response)}"
        raise RegistryError(message, refused=response.status_code in REFUSALS)
    return response.json()


def _reason(response: Any) -> str:
    try:
        return str(response.json().get("message", response.text))[:500]
    except ValueError:
        return response.text[:500]
