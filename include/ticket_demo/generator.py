"""Realistic, deterministic support tickets (French and English) for one time interval.

Every ticket matches ``include/schemas/ticket.v1.schema.json``: field names, field order and
enum values are read from :mod:`ticket_etl.schema`; this module only adds the *weights* of
the enum values and the vocabulary (``vocabulary.yaml`` beside it), and fails loudly if they stop matching the schema.

Determinism: ``(start, end, seed, count)`` fixes every ticket, ids included. Ids are
``TCK-`` + 20 hex digits of a keyed 64-bit mix (splitmix64) of the ticket index, keyed by a
BLAKE2b hash of ``seed|start_ms|end_ms``: unique within a batch, and disjoint (up to a
2^-44 chance) between intervals or seeds.

Speed: all random choices are drawn at once with numpy; texts come from pools built once
(with their JSON-escaped form), so a ticket's value is one ``%``-format of escaped pieces.
No per-ticket ``json.dumps`` and no per-ticket Python ``random`` call.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from itertools import product
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from ticket_etl import config, schema
from ticket_etl.interval import to_epoch_ms

Record = tuple[bytes, bytes, int]  # (key = ticket_id, value = JSON, Kafka timestamp in ms)

LANGUAGE_WEIGHTS = {"fr": 0.60, "en": 0.40}
TYPE_WEIGHTS = {"incident": 0.30, "question": 0.35, "feature_request": 0.15, "billing": 0.20}
CHANNEL_WEIGHTS = {"email": 0.35, "web": 0.30, "chat": 0.15, "phone": 0.12, "api": 0.08}
# Priority depends on the type; the mix above gives overall about
# low 35.5%, medium 39.5%, high 17.7%, critical 7.4%.
PRIORITY_WEIGHTS_BY_TYPE = {
    "incident": {"low": 0.10, "medium": 0.35, "high": 0.35, "critical": 0.20},
    "question": {"low": 0.50, "medium": 0.42, "high": 0.07, "critical": 0.01},
    "feature_request": {"low": 0.60, "medium": 0.35, "high": 0.05, "critical": 0.00},
    "billing": {"low": 0.30, "medium": 0.45, "high": 0.20, "critical": 0.05},
}
CLIENT_POOL_SIZE = 5000
CLIENT_ZIPF_EXPONENT = 1.1  # P(client of rank k) ~ 1 / k^s: a few clients open most tickets
TYPO_SHARE = 0.04  # share of text pool entries that also get a variant with a typo
_VOCABULARY_SEED = 20261128  # the pools are the same for every seed

MALFORMED_KINDS = ("not_json", "invalid_utf8", "missing_field", "wrong_type", "unknown_enum", "oversized")

# --- vocabulary -------------------------------------------------------------------------------

VOCABULARY_PATH = Path(__file__).with_name("vocabulary.yaml")
TemplateGroups = dict[tuple[str, str], tuple[list[str], dict[str, list[str]]]]


@dataclass(frozen=True)
class _Texts:
    """The vocabulary file: template groups by (language, type), and texts by language."""

    subjects: TemplateGroups
    bodies: TemplateGroups
    openings: dict[str, list[str]]
    closings: dict[str, list[str]]
    details: dict[str, list[str]]
    detail_fillers: dict[str, list[str]]


@cache
def _texts() -> _Texts:
    """Read :data:`VOCABULARY_PATH`, each group's fillers resolved to their word lists."""
    document = yaml.safe_load(VOCABULARY_PATH.read_text(encoding="utf-8"))
    lists = document["word_lists"]

    def groups(section: str) -> TemplateGroups:
        return {
            tuple(key.split("/", 1)): (
                group["templates"],
                {slot: lists[name] for slot, name in group["fillers"].items()},
            )
            for key, group in document[section].items()
        }

    return _Texts(
        subjects=groups("subjects"),
        bodies=groups("bodies"),
        openings=document["openings"],
        closings=document["closings"],
        details=document["details"],
        detail_fillers=document["detail_fillers"],
    )


def _expand(templates: list[str], fillers: dict[str, list[str]]) -> list[str]:
    """Every template with every combination of the fillers it uses."""
    out: list[str] = []
    for template in templates:
        names = [name for name in fillers if "{" + name + "}" in template]
        for combo in product(*(fillers[name] for name in names)):
            text = template.format(**dict(zip(names, combo, strict=True)))
            out.append(text[0].upper() + text[1:] if text else text)
    return out


def _with_typo(text: str, rng: np.random.Generator) -> str:
    """``text`` with one realistic typo: a dropped accent, two swapped letters or a doubled one."""
    words = [i for i, word in enumerate(text.split(" ")) if len(word) > 3 and word.isalpha()]
    if not words:
        return text
    parts = text.split(" ")
    i = words[int(rng.integers(len(words)))]
    word = parts[i]
    stripped = "".join(c for c in unicodedata.normalize("NFD", word) if unicodedata.category(c) != "Mn")
    kind = int(rng.integers(3))
    if kind == 0 and stripped != word:
        parts[i] = stripped
    elif kind <= 1:
        j = int(rng.integers(1, len(word) - 2))
        parts[i] = word[:j] + word[j + 1] + word[j] + word[j + 2 :]
    else:
        j = int(rng.integers(1, len(word) - 1))
        parts[i] = word[:j] + word[j] + word[j:]
    return " ".join(parts)


def _add_typos(texts: list[str], rng: np.random.Generator) -> list[str]:
    return texts + [_with_typo(t, rng) for t in texts if rng.random() < TYPO_SHARE]


def _escaped(text: str) -> str:
    """JSON string body of ``text`` (no surrounding quotes)."""
    return json.dumps(text, ensure_ascii=False)[1:-1]


@dataclass(frozen=True)
class _Pool:
    """Escaped texts of several groups in one array.

    Group ``g`` is ``texts[offsets[g] : offsets[g] + sizes[g]]``.
    """

    texts: np.ndarray
    offsets: np.ndarray
    sizes: np.ndarray

    def pick(self, groups: np.ndarray, uniform: np.ndarray) -> np.ndarray:
        """One text per row, uniformly within the row's group."""
        index = self.offsets[groups] + (uniform * self.sizes[groups]).astype(np.int64)
        return self.texts[index]


def _pool(groups: list[list[str]], prefix: str = "", suffix: str = "") -> _Pool:
    """Pool of escaped texts; ``prefix``/``suffix`` are added to the non-empty ones."""
    sizes = np.array([len(g) for g in groups], dtype=np.int64)
    flat = [prefix + _escaped(t) + suffix if t else "" for g in groups for t in g]
    texts = np.empty(len(flat), dtype=object)
    texts[:] = flat
    return _Pool(texts, np.concatenate([[0], np.cumsum(sizes)[:-1]]), sizes)


@dataclass(frozen=True)
class _Vocabulary:
    languages: list[str]
    types: list[str]
    subjects: _Pool  # group = language * len(types) + type
    openings: _Pool  # group = language
    bodies: _Pool  # group = language * len(types) + type
    details: _Pool  # group = language
    closings: _Pool  # group = language


def _check_keys(name: str, weights: dict[str, Any], allowed: list[str]) -> None:
    if set(weights) != set(allowed):
        raise ValueError(f"generator weights for {name} {sorted(weights)} do not match the schema {allowed}")


@cache
def _vocabulary() -> _Vocabulary:
    """Text pools, built once per process (deterministic: fixed seed)."""
    enums = schema.enums()
    for name, weights in (
        ("language", LANGUAGE_WEIGHTS),
        ("type", TYPE_WEIGHTS),
        ("channel", CHANNEL_WEIGHTS),
        ("type", PRIORITY_WEIGHTS_BY_TYPE),
    ):
        _check_keys(name, weights, enums[name])
    for weights in PRIORITY_WEIGHTS_BY_TYPE.values():
        _check_keys("priority", weights, enums["priority"])
    rng = np.random.default_rng(_VOCABULARY_SEED)
    languages, types = enums["language"], enums["type"]
    pairs = [(lang, kind) for lang in languages for kind in types]
    texts = _texts()
    per_lang = {
        lang: _add_typos(_expand(texts.details[lang], texts.detail_fillers), rng) for lang in languages
    }
    return _Vocabulary(
        languages=languages,
        types=types,
        subjects=_pool([_add_typos(_expand(*texts.subjects[p]), rng) for p in pairs]),
        openings=_pool(
            [texts.openings[lang] for lang in languages], suffix="\\n"
        ),  # JSON escape of a new line
        bodies=_pool([_add_typos(_expand(*texts.bodies[p]), rng) for p in pairs]),
        details=_pool([per_lang[lang] for lang in languages], prefix=" "),
        closings=_pool([_add_typos(texts.closings[lang], rng) for lang in languages], prefix="\\n"),
    )


@cache
def _clients() -> tuple[np.ndarray, np.ndarray]:
    """Client ids (by popularity rank) and their Zipf-like probabilities."""
    rng = np.random.default_rng(_VOCABULARY_SEED)
    numbers = rng.permutation(CLIENT_POOL_SIZE) + 10_000
    ids = np.empty(CLIENT_POOL_SIZE, dtype=object)
    ids[:] = [f'"CLI-{n:05d}"' for n in numbers.tolist()]
    weights = 1.0 / np.arange(1, CLIENT_POOL_SIZE + 1) ** CLIENT_ZIPF_EXPONENT
    return ids, weights / weights.sum()


# --- ids, times, keys ---------------------------------------------------------------------------

_M1, _M2, _GOLDEN = (
    np.uint64(0xBF58476D1CE4E5B9),
    np.uint64(0x94D049BB133111EB),
    np.uint64(0x9E3779B97F4A7C15),
)


def _mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: a bijection of uint64, so distinct inputs give distinct outputs."""
    x = x + _GOLDEN
    x = (x ^ (x >> np.uint64(30))) * _M1
    x = (x ^ (x >> np.uint64(27))) * _M2
    return x ^ (x >> np.uint64(31))


def _keys(namespace: str) -> tuple[int, int, int]:
    """Random-generator seed and two id keys derived from ``namespace``."""
    digest = hashlib.blake2b(namespace.encode(), digest_size=32).digest()
    return (
        int.from_bytes(digest[:16], "big"),
        int.from_bytes(digest[16:24], "big"),
        int.from_bytes(digest[24:], "big"),
    )


def ticket_ids(id_key_a: int, id_key_b: int, first_index: int, count: int) -> list[str]:
    """``TCK-`` + 20 hex digits for indices ``first_index .. first_index + count - 1``."""
    index = np.arange(first_index, first_index + count, dtype=np.uint64)
    raw = np.empty((count, 10), dtype=np.uint8)
    raw[:, :8] = _mix64(index ^ np.uint64(id_key_a)).astype(">u8").view(np.uint8).reshape(count, 8)
    raw[:, 8:] = (
        (_mix64(index ^ np.uint64(id_key_b)) >> np.uint64(48)).astype(">u2").view(np.uint8).reshape(count, 2)
    )
    digits = raw.tobytes().hex()
    return ["TCK-" + digits[i : i + 20] for i in range(0, 20 * count, 20)]


_MS_SUFFIXES = np.array([f".{ms:03d}Z" for ms in range(1000)], dtype=object)


def format_created_at(epoch_ms: np.ndarray) -> list[str]:
    """``YYYY-MM-DDTHH:MM:SS.mmmZ`` strings, vectorised (each distinct second is formatted once)."""
    seconds, inverse = np.unique(epoch_ms // 1000, return_inverse=True)
    second_text = np.datetime_as_string(seconds.astype("datetime64[s]"), unit="s").astype(object)
    return (second_text[inverse.ravel()] + _MS_SUFFIXES[epoch_ms % 1000]).tolist()


def _choice(rng: np.random.Generator, n: int, weights: list[float]) -> np.ndarray:
    p = np.asarray(weights, dtype=np.float64)
    return rng.choice(len(p), size=n, p=p / p.sum())


# --- batches ------------------------------------------------------------------------------------


@dataclass
class TicketBatch:
    """Generated tickets as parallel columns; ``records()`` gives what the producer sends."""

    keys: list[bytes]
    values: list[bytes]
    timestamps_ms: list[int]
    malformed: dict[int, str] = field(default_factory=dict)  # index -> kind (MALFORMED_KINDS)

    def __len__(self) -> int:
        return len(self.keys)

    def records(self) -> list[Record]:
        """``(key, value, timestamp_ms)`` tuples, ready for ``Producer.produce``."""
        return list(zip(self.keys, self.values, self.timestamps_ms, strict=True))

    def dicts(self) -> list[dict[str, Any]]:
        """Valid tickets as dicts (decoded from the values: exactly what is sent)."""
        return [json.loads(v) for i, v in enumerate(self.values) if i not in self.malformed]

    def value_bytes(self) -> int:
        return sum(map(len, self.values))


def _value_template() -> str:
    return "{" + ",".join(f"{json.dumps(name)}:%s" for name in schema.fields()) + "}"


def _columns(rng: np.random.Generator, count: int, ids: list[str], created_at: list[str]) -> dict[str, Any]:
    """JSON-encoded column of every schema field."""
    vocab = _vocabulary()
    enums = schema.enums()
    n_types = len(vocab.types)
    lang = _choice(rng, count, [LANGUAGE_WEIGHTS[v] for v in vocab.languages])
    kind = _choice(rng, count, [TYPE_WEIGHTS[v] for v in vocab.types])
    channel = _choice(rng, count, [CHANNEL_WEIGHTS[v] for v in enums["channel"]])
    priority = np.empty(count, dtype=np.int64)
    for t, name in enumerate(vocab.types):
        rows = np.flatnonzero(kind == t)
        weights = PRIORITY_WEIGHTS_BY_TYPE[name]
        priority[rows] = _choice(rng, len(rows), [weights[v] for v in enums["priority"]])
    client_ids, client_p = _clients()
    clients = client_ids[rng.choice(len(client_p), size=count, p=client_p)]
    uniform = rng.random((5, count))
    group = lang * n_types + kind
    subject = vocab.subjects.pick(group, uniform[0])
    parts = zip(
        vocab.openings.pick(lang, uniform[1]),
        vocab.bodies.pick(group, uniform[2]),
        vocab.details.pick(lang, uniform[3]),
        vocab.closings.pick(lang, uniform[4]),
        strict=True,
    )

    def encoded(values: list[str]) -> np.ndarray:
        out = np.empty(len(values), dtype=object)
        out[:] = [json.dumps(v) for v in values]
        return out

    return {
        "ticket_id": [f'"{i}"' for i in ids],
        "client_id": clients.tolist(),
        "created_at": [f'"{c}"' for c in created_at],
        "channel": encoded(enums["channel"])[channel].tolist(),
        "language": encoded(vocab.languages)[lang].tolist(),
        "subject": [f'"{s}"' for s in subject.tolist()],
        "description": [f'"{o}{b}{d}{c}"' for o, b, d, c in parts],
        "type": encoded(vocab.types)[kind].tolist(),
        "priority": encoded(enums["priority"])[priority].tolist(),
        "schema_version": [json.dumps(schema.SCHEMA_VERSION)] * count,
    }


def _generate(
    content_key: int,
    id_keys: tuple[int, int],
    first_index: int,
    timestamps_ms: np.ndarray,
    malformed_share: float,
) -> TicketBatch:
    """Tickets created at ``timestamps_ms``; ``content_key`` seeds the content, ``id_keys`` the ids."""
    if not 0.0 <= malformed_share <= 1.0:
        raise ValueError(f"malformed_share must be in [0, 1], got {malformed_share}")
    count = len(timestamps_ms)
    rng = np.random.default_rng(content_key)
    ids = ticket_ids(*id_keys, first_index, count)
    columns = _columns(rng, count, ids, format_created_at(timestamps_ms))
    names = schema.fields()
    if set(columns) != set(names):
        raise ValueError(f"generator columns {sorted(columns)} do not match the schema fields {names}")
    template = _value_template()
    values = [(template % row).encode() for row in zip(*(columns[name] for name in names), strict=True)]
    batch = TicketBatch([i.encode() for i in ids], values, timestamps_ms.tolist())
    inject_malformed(batch, malformed_share, rng)
    return batch


def generate_batch(
    start: datetime, end: datetime, count: int | None = None, seed: int = 0, malformed_share: float = 0.0
) -> TicketBatch:
    """``count`` tickets (default ``BATCH_SIZE``) created in ``[start, end)``, in creation order.

    Deterministic in ``(start, end, seed, count, malformed_share)``; ids depend only on
    ``(start, end, seed)`` and the index.
    """
    count = config.batch_size() if count is None else count
    start_ms, end_ms = to_epoch_ms(start), to_epoch_ms(end)
    if end_ms <= start_ms:
        raise ValueError(f"end ({end.isoformat()}) must be after start ({start.isoformat()})")
    if count < 0:
        raise ValueError(f"count must be >= 0, got {count}")
    content_key, key_a, key_b = _keys(f"interval|{seed}|{start_ms}|{end_ms}")
    rng = np.random.default_rng(content_key + 1)
    timestamps = np.sort(rng.integers(start_ms, end_ms, size=count, dtype=np.int64))
    return _generate(content_key, (key_a, key_b), 0, timestamps, malformed_share)


def generate_stream_chunk(
    seed: int, first_index: int, timestamps_ms: list[int], malformed_share: float = 0.0
) -> TicketBatch:
    """Tickets ``first_index ..`` of the endless stream of ``seed``, created at ``timestamps_ms``.

    Ids depend only on ``(seed, index)``, so a stream never repeats an id.
    """
    _, key_a, key_b = _keys(f"stream|{seed}")
    content_key = _keys(f"stream|{seed}|{first_index}")[0]
    return _generate(
        content_key, (key_a, key_b), first_index, np.asarray(timestamps_ms, dtype=np.int64), malformed_share
    )


# --- malformed records --------------------------------------------------------------------------


def _malformed_value(kind: str, value: bytes, key: bytes) -> bytes:
    """A broken variant of a valid JSON ``value``."""
    ticket = json.loads(value)
    if kind == "not_json":
        return (
            b"ticket "
            + key
            + b" priority="
            + ticket["priority"].encode()
            + b" {subject: "
            + ticket["subject"].encode()
            + b"'"
        )
    if kind == "invalid_utf8":
        return value.replace(b'"description":"', b'"description":"\xff\xfe\xc3(', 1)
    if kind == "missing_field":
        droppable = [name for name in schema.required_fields() if name != "ticket_id"]
        del ticket[droppable[int.from_bytes(hashlib.blake2b(key, digest_size=2).digest()) % len(droppable)]]
    elif kind == "wrong_type":
        ticket["priority"] = schema.enums()["priority"].index(ticket["priority"]) + 1
    elif kind == "unknown_enum":
        ticket["type"] = "complaint"
    elif kind == "oversized":
        limit = schema.max_lengths()["description"]
        ticket["description"] = (ticket["description"] + " ") * (
            limit // max(len(ticket["description"]), 1) + 1
        )
    else:
        raise ValueError(f"unknown malformed kind {kind!r}")
    return json.dumps(ticket, ensure_ascii=False).encode()


def inject_malformed(batch: TicketBatch, share: float, rng: np.random.Generator) -> None:
    """Replace ``round(share * len(batch))`` values, at random rows, by malformed ones.

    The kinds take turns (``MALFORMED_KINDS``), so each kind gets an equal share; keys and
    timestamps are kept, so a malformed record is keyed like any ticket.
    """
    n = round(share * len(batch))
    if n == 0:
        return
    rows = np.sort(rng.choice(len(batch), size=n, replace=False)).tolist()
    offset = int(rng.integers(len(MALFORMED_KINDS)))
    for j, row in enumerate(rows):
        kind = MALFORMED_KINDS[(j + offset) % len(MALFORMED_KINDS)]
        batch.values[row] = _malformed_value(kind, batch.values[row], batch.keys[row])
        batch.malformed[row] = kind
