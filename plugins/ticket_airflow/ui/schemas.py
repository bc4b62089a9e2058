"""The schema registry as the pages show it: which schema version each record names (its
``schema_id`` and ``schema_version`` headers, the id mapped to the ticket subject's version), and
the registry's subjects with their versions and compatibility rule.

The registry is read through :mod:`ticket_etl.schema_registry` (its Confluent-compatible API). The
ticket subject's snapshot is kept for :data:`CACHE_S` seconds, a failure too, so a page of 500
records asks once and a registry that is down costs one timeout per :data:`CACHE_S`, not one per
page. When the registry does not answer, a record still shows the id it names and says so.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ticket_etl import config, schema, schema_registry

CACHE_S = 30.0
SHA_SHOWN = 12
_lock = threading.Lock()
_cache: dict[tuple[str, str], tuple[float, schema_registry.Snapshot | schema_registry.RegistryError]] = {}


@dataclass(frozen=True)
class VersionMap:
    """The ticket subject's versions by registry id, or why they are unknown (``problem``)."""

    registry: str
    subject: str
    versions: dict[int, int]  # id -> version
    problem: str | None = None


def version_map(url: str | None = None, subject: str | None = None) -> VersionMap:
    """The ticket subject's versions by id, from a snapshot at most :data:`CACHE_S` seconds old."""
    url = url or config.schema_registry_url()
    subject = subject or schema_registry.ticket_subject()
    answer = _snapshot(url, subject)
    if isinstance(answer, schema_registry.RegistryError):
        return VersionMap(url, subject, {}, str(answer))
    return VersionMap(url, subject, {schema_id: entry.version for schema_id, entry in answer.by_id().items()})


def _snapshot(url: str, subject: str) -> schema_registry.Snapshot | schema_registry.RegistryError:
    now = time.monotonic()
    with _lock:
        cached = _cache.get((url, subject))
        if cached is not None and now - cached[0] < CACHE_S:
            return cached[1]
    try:
        answer: schema_registry.Snapshot | schema_registry.RegistryError = schema_registry.snapshot(
            url, subject
        )
    except schema_registry.RegistryError as error:
        answer = error
    with _lock:
        _cache[(url, subject)] = (time.monotonic(), answer)
    return answer


def record_schema(headers: Iterable[tuple[str, str]], versions: VersionMap) -> dict[str, Any] | None:
    """What a record's headers say of its schema, for reading: ``text`` such as ``schema v2 (id 2)``,
    and ``known`` (the registry maps the id to a version of the ticket subject). None: the record
    names no schema (no ``schema_id`` nor ``schema_version`` header)."""
    by_name = dict(headers)
    id_text = by_name.get(schema_registry.SCHEMA_ID_HEADER)
    named = by_name.get(schema.SCHEMA_VERSION_HEADER)
    if id_text is None:
        if named is None:
            return None
        return {"id": None, "version": named, "known": False, "text": f"schema v{named} (no schema id)"}
    try:
        schema_id: int | None = int(id_text)
    except ValueError:
        schema_id = None
    if schema_id is None:
        text = f"schema id {id_text!r} is not a number"
    elif versions.problem is not None:
        text = f"schema id {schema_id} (the registry did not answer)"
    elif schema_id in versions.versions:
        version = versions.versions[schema_id]
        text = f"schema v{version} (id {schema_id})"
        if named is not None and named != str(version):
            text += f", but its schema_version header says {named}"
        return {"id": schema_id, "version": version, "known": True, "text": text}
    else:
        text = f"schema id {schema_id}: unknown to the registry (not a version of {versions.subject})"
    return {"id": schema_id, "version": named, "known": False, "text": text}


def annotate(records: list[dict[str, Any]], url: str | None = None) -> dict[str, Any]:
    """Add ``schema`` (:func:`record_schema`) to each record's dict; returns what the page says of
    the registry (address, subject, problem)."""
    versions = version_map(url)
    for record in records:
        record["schema"] = record_schema(record["headers"], versions)
    return {"registry": versions.registry, "subject": versions.subject, "problem": versions.problem}


def overview(url: str | None = None) -> dict[str, Any]:
    """Every subject of the registry with its compatibility rule and versions (version, id, short
    SHA-256 of the schema text); :class:`schema_registry.RegistryError` when it does not answer. A
    subject that cannot be read is listed with its ``problem``."""
    url = url or config.schema_registry_url()
    subjects = []
    for subject in schema_registry.subjects(url):
        try:
            snapshot = schema_registry.snapshot(url, subject)
        except schema_registry.RegistryError as error:
            subjects.append(
                {"subject": subject, "problem": str(error), "compatibility": None, "versions": []}
            )
            continue
        versions = [{**v, "sha256_short": v["sha256"][:SHA_SHOWN]} for v in snapshot.as_dict()["versions"]]
        subjects.append(
            {
                "subject": subject,
                "problem": None,
                "compatibility": snapshot.compatibility,
                "versions": versions,
            }
        )
    return {"registry": url, "ticket_subject": schema_registry.ticket_subject(), "subjects": subjects}
