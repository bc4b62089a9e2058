"""Realistic, deterministic support tickets (French and English) for one time interval.

Every ticket matches its version of the ticket schema (``include/schemas/ticket.v<N>.schema.json``,
version 1 unless asked): field names, field order and enum values are read from :mod:`ticket_etl.schema`; this module only adds the *weights* of
the enum values and the vocabulary (``vocabulary.yaml`` beside it), and fails loudly if they stop matching the schema.

Determinism: ``(start, end, seed, count)`` fixes every ticket, ids included. Ids are
``TCK-`` + 20 hex digits of a keyed 64-bit mix (splitmix64) of the ticket index, keyed by a
BLAKE2b hash of ``seed|start_ms|end_ms``: unique within a batch, and disjoint (up to a
2^-44 chance) between intervals or seeds.

Speed: all random choices are drawn at once with numpy; texts come from pools built once
(with their JSON-escaped form), so a ticket's value is one ``%``-format of escaped pieces.
No per-ticket ``json.dumps`` and no per-ticket Python ``random`` call.

Incident wave (:class:`IncidentWave`): a share of the tickets become incidents about one text
given by the user, so that its words surge in the keyword analysis (a demo of the alerts). The
wave draws from its own generator (the other tickets stay those of the same batch without it),
and its tickets' ids are keyed by its text too, so a wave added to an hour already generated
brings new tickets.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache, lru_cache
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
# Share of tickets whose description has an opening (salutation), a detail sentence, a closing:
# most real tickets go straight to the point.
OPENING_SHARE = 0.30
DETAIL_SHARE = 0.50
CLOSING_SHARE = 0.35
# An incident wave's tickets: type incident, priority weighted towards high and critical.
WAVE_TYPE = "incident"
WAVE_PRIORITY_WEIGHTS = {"low": 0.02, "medium": 0.18, "high": 0.50, "critical": 0.30}
WAVE_TEXT_MAX = 100  # characters: a wave subject stays within the schema's 200
WAVE_EXAMPLE = "paiement refusé par la banque:0.06"
_VOCABULARY_SEED = 20261128  # the pools are the same for every seed

# Version 2 of the ticket schema adds optional ``tags``: a ticket of that version gets 1 to
# MAX_TAGS of these (its own draws: the other fields are those of the same ticket in version 1).
TAGS = ("vip", "enterprise", "new-client", "renewal", "mobile-app", "web-app", "api", "sla-4h", "eu", "beta")
MAX_TAGS = 3
DEFAULT_SCHEMA_VERSION = 1  # what the demo produces unless asked for another committed version

MALFORMED_KINDS = ("not_json", "invalid_utf8", "missing_field", "wrong_type", "unknown_enum", "oversized")

# --- vocabulary -------------------------------------------------------------------------------

VOCABULARY_PATH = Path(__file__).with_name("vocabulary.yaml")
TemplateGroups = dict[tuple[str, str], tuple[list[str], dict[str, list[str]]]]
LanguageGroups = dict[str, tuple[list[str], dict[str, list[str]]]]
_WAVE_MARK = "{wave}"  # where an incident wave's text goes in the wave templates


@dataclass(frozen=True)
class _Texts:
    """The vocabulary file: template groups by (language, type) or by language, texts by language."""

    subjects: TemplateGroups
    bodies: TemplateGroups
    wave_subjects: LanguageGroups
    wave_bodies: LanguageGroups
    openings: dict[str, list[str]]
    closings: dict[str, list[str]]
    details: dict[str, list[str]]
    detail_fillers: dict[str, list[str]]


@cache
def _texts() -> _Texts:
    """Read :data:`VOCABULARY_PATH`, each group's fillers resolved to their word lists."""
    document = yaml.safe_load(VOCABULARY_PATH.read_text(encoding="utf-8"))
    lists = document["word_lists"]

    def group(spec: dict[str, Any]) -> tuple[list[str], dict[str, list[str]]]:
        return spec["templates"], {slot: lists[name] for slot, name in spec["fillers"].items()}

    def by_type(section: str) -> TemplateGroups:
        return {tuple(key.split("/", 1)): group(spec) for key, spec in document[section].items()}

    def by_language(section: str) -> LanguageGroups:
        out: LanguageGroups = {}
        for lang, spec in document[section].items():
            templates, fillers = group(spec)
            # The wave's text is a filler that stays the mark: it is known only at generation.
            out[lang] = (templates, {**fillers, "wave": [_WAVE_MARK]})
        return out

    return _Texts(
        subjects=by_type("subjects"),
        bodies=by_type("bodies"),
        wave_subjects=by_language("wave_subjects"),
        wave_bodies=by_language("wave_bodies"),
        openings=document["openings"],
        closings=document["closings"],
        details=document["details"],
        detail_fillers=document["detail_fillers"],
    )


Weighted = list[tuple[str, float]]  # texts and their relative weights within their group


def _expand(templates: list[str], fillers: dict[str, list[str]]) -> Weighted:
    """Every template with every combination of the fillers it uses, weighted so that each
    template is as likely as any other (a template with 140 fillings is not 140 times as common)."""
    out: Weighted = []
    for template in templates:
        names = [name for name in fillers if "{" + name + "}" in template]
        combos = list(product(*(fillers[name] for name in names)))
        for combo in combos:
            text = template.format(**dict(zip(names, combo, strict=True)))
            out.append((text[0].upper() + text[1:] if text else text, 1.0 / len(combos)))
    return out


def _uniform(texts: list[str]) -> Weighted:
    return [(text, 1.0) for text in texts]


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


def _add_typos(texts: Weighted, rng: np.random.Generator) -> Weighted:
    """``texts`` and, for a few of them, a variant with a typo (as likely as the original)."""
    return texts + [(_with_typo(t, rng), w) for t, w in texts if rng.random() < TYPO_SHARE]


def _escaped(text: str) -> str:
    """JSON string body of ``text`` (no surrounding quotes)."""
    return json.dumps(text, ensure_ascii=False)[1:-1]


@dataclass(frozen=True)
class _Pool:
    """Escaped texts of several groups in one array, each with its probability in its group.

    Group ``g`` is ``texts[offsets[g] : offsets[g] + sizes[g]]``; entry ``i`` of group ``g`` covers
    ``[bounds[i - 1], bounds[i])`` of ``[g, g + 1)``, so one ``searchsorted`` of ``g + uniform``
    picks a text for every row at once.
    """

    texts: np.ndarray
    offsets: np.ndarray
    sizes: np.ndarray
    bounds: np.ndarray

    def pick(self, groups: np.ndarray, uniform: np.ndarray) -> np.ndarray:
        """One text per row, drawn with the weights of the row's group."""
        index = np.searchsorted(self.bounds, groups + uniform, side="right")
        return self.texts[np.minimum(index, self.offsets[groups] + self.sizes[groups] - 1)]

    def pick_some(self, groups: np.ndarray, uniform: np.ndarray, share: float) -> np.ndarray:
        """A text for the rows whose ``uniform`` is below ``share``, else ""."""
        chosen = uniform < share
        out = self.pick(groups, np.where(chosen, uniform / share, 0.0))
        out[~chosen] = ""
        return out

    def replaced(self, mark: str, text: str) -> _Pool:
        """The same pool with ``mark`` replaced by ``text`` (already escaped) in every entry."""
        texts = np.empty(len(self.texts), dtype=object)
        texts[:] = [t.replace(mark, text) for t in self.texts.tolist()]
        return _Pool(texts, self.offsets, self.sizes, self.bounds)


def _pool(groups: list[Weighted], prefix: str = "", suffix: str = "") -> _Pool:
    """Pool of escaped texts; ``prefix``/``suffix`` are added to the non-empty ones."""
    sizes = np.array([len(g) for g in groups], dtype=np.int64)
    flat = [prefix + _escaped(t) + suffix if t else "" for g in groups for t, _ in g]
    texts = np.empty(len(flat), dtype=object)
    texts[:] = flat
    bounds = []
    for g, group in enumerate(groups):
        cumulative = np.cumsum([w for _, w in group])
        bounds.append(g + cumulative / cumulative[-1])
        bounds[-1][-1] = g + 1  # exactly: the next group starts there
    return _Pool(texts, np.concatenate([[0], np.cumsum(sizes)[:-1]]), sizes, np.concatenate(bounds))


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
    for weights in (*PRIORITY_WEIGHTS_BY_TYPE.values(), WAVE_PRIORITY_WEIGHTS):
        _check_keys("priority", weights, enums["priority"])
    if WAVE_TYPE not in enums["type"]:
        raise ValueError(f"generator wave type {WAVE_TYPE!r} is not in the schema {enums['type']}")
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
            [_uniform(texts.openings[lang]) for lang in languages], suffix="\\n"
        ),  # JSON escape of a new line
        bodies=_pool([_add_typos(_expand(*texts.bodies[p]), rng) for p in pairs]),
        details=_pool([per_lang[lang] for lang in languages], prefix=" "),
        closings=_pool([_add_typos(_uniform(texts.closings[lang]), rng) for lang in languages], prefix="\\n"),
    )


@cache
def _wave_templates() -> tuple[_Pool, _Pool]:
    """Subject and body pools of an incident wave (group = language), the text still a mark."""
    rng = np.random.default_rng(_VOCABULARY_SEED + 1)
    languages = schema.enums()["language"]
    texts = _texts()
    subjects = [_add_typos(_expand(*texts.wave_subjects[lang]), rng) for lang in languages]
    longest = max(len(t) for group in subjects for t, _ in group) - len(_WAVE_MARK) + WAVE_TEXT_MAX
    if longest > schema.max_lengths()["subject"]:
        raise ValueError(f"a wave subject can reach {longest} characters, over the schema's limit")
    bodies = [_add_typos(_expand(*texts.wave_bodies[lang]), rng) for lang in languages]
    return _pool(subjects), _pool(bodies)


@lru_cache(maxsize=8)
def _wave_pools(text: str) -> tuple[_Pool, _Pool]:
    """Subject and body pools of the wave about ``text`` (built once per text)."""
    escaped = _escaped(text)
    subjects, bodies = _wave_templates()
    return subjects.replaced(_WAVE_MARK, escaped), bodies.replaced(_WAVE_MARK, escaped)


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
    return _ids(id_key_a, id_key_b, np.arange(first_index, first_index + count, dtype=np.uint64))


def _ids(id_key_a: int, id_key_b: int, index: np.ndarray) -> list[str]:
    """``TCK-`` + 20 hex digits for each of the (uint64) ``index``."""
    count = len(index)
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


# --- incident wave ------------------------------------------------------------------------------


def _wave_problem(text: str, share: float) -> str | None:
    """What is wrong with a wave's text or share, or None when both are fine."""
    if not text.strip():
        return "the text is empty"
    if len(text) > WAVE_TEXT_MAX:
        return f"the text has {len(text)} characters, more than {WAVE_TEXT_MAX}"
    if any(unicodedata.category(c) == "Cc" for c in text):
        return "the text must be one line, without control characters"
    if not 0.0 < share <= 1.0:  # NaN fails too
        return f"the share must be in (0, 1], got {share}"
    return None


@dataclass(frozen=True)
class IncidentWave:
    """A new problem hitting many clients at once: ``share`` of a batch's tickets become
    incidents (mostly high or critical) whose subject and description quote ``text`` verbatim.

    It makes the words and phrases of ``text`` surge in their hour, to show the keyword
    analysis and its alerts at work. :meth:`parse` reads the ``TEXT:SHARE`` form of the CLI
    and the DAG param.
    """

    text: str
    share: float

    def __post_init__(self) -> None:
        problem = _wave_problem(self.text, self.share)
        if problem:
            raise ValueError(f"incident wave: {problem}")

    @classmethod
    def parse(cls, value: str) -> IncidentWave:
        """``TEXT:SHARE`` (split at the last colon, spaces around either part dropped), e.g.
        ``paiement refusé par la banque:0.06``; a bad value raises ValueError in one line."""
        text, colon, share_text = value.rpartition(":")
        text, share_text = text.strip(), share_text.strip()
        try:
            share = float(share_text)
        except ValueError:
            share = None
        if not colon:
            problem: str | None = "no ':' between the text and the share"
        elif share is None:
            problem = f"the share {share_text!r} is not a number"
        else:
            problem = _wave_problem(text, share)
        if problem:
            raise ValueError(
                f"incident wave {value!r}: {problem} (expected TEXT:SHARE with SHARE in (0, 1], "
                f"e.g. {WAVE_EXAMPLE!r})"
            )
        return cls(text, share)


@dataclass(frozen=True)
class _WaveRows:
    """The rows an incident wave takes in one batch, their ids and their draws."""

    text: str
    rows: np.ndarray  # sorted row indices
    ids: list[str]  # the rows' ticket ids
    draws: np.ndarray  # (3, len(rows)) uniforms: priority, subject, body


def _batch_wave(wave: IncidentWave, namespace: str, count: int) -> _WaveRows:
    """``round(share * count)`` rows of a batch, chosen from ``namespace`` (seed and interval).

    The rows are a prefix of one permutation and the draws are per row, so a larger share of
    the same wave takes the same tickets and more. The ids depend on the text too: a wave added
    to an hour already generated brings tickets of its own instead of colliding with sent ones.
    """
    rng = np.random.default_rng(_keys(f"wave|{namespace}")[0])
    order = rng.permutation(count)
    draws = rng.random((3, count))
    rows = np.sort(order[: round(wave.share * count)])
    _, key_a, key_b = _keys(f"wave|{namespace}|{wave.text}")
    return _WaveRows(wave.text, rows, _ids(key_a, key_b, rows.astype(np.uint64)), draws[:, rows])


def _stream_wave(wave: IncidentWave, seed: int, first_index: int, count: int) -> _WaveRows:
    """Each stream ticket is in the wave with probability ``share``, from its index alone (so
    however the stream is chunked)."""
    index = np.arange(first_index, first_index + count, dtype=np.uint64)
    member_key = _keys(f"stream-wave|{seed}")[1]
    uniform = (_mix64(index ^ np.uint64(member_key)) >> np.uint64(11)).astype(np.float64) / 2.0**53
    rows = np.flatnonzero(uniform < wave.share)
    draws = np.random.default_rng(_keys(f"stream-wave|{seed}|{first_index}")[0]).random((3, len(rows)))
    _, key_a, key_b = _keys(f"stream-wave|{seed}|{wave.text}")
    return _WaveRows(wave.text, rows, _ids(key_a, key_b, index[rows]), draws)


def _apply_wave(
    wave: _WaveRows,
    lang: np.ndarray,
    kind: np.ndarray,
    priority: np.ndarray,
    subject: np.ndarray,
    body: np.ndarray,
) -> None:
    """Turn the wave's rows into incidents about its text: type, priority, subject and body."""
    rows, draws = wave.rows, wave.draws
    vocab = _vocabulary()
    kind[rows] = vocab.types.index(WAVE_TYPE)
    weights = np.array([WAVE_PRIORITY_WEIGHTS[p] for p in schema.enums()["priority"]])
    cumulative = np.cumsum(weights) / weights.sum()
    priority[rows] = np.minimum(np.searchsorted(cumulative, draws[0], side="right"), len(weights) - 1)
    subjects, bodies = _wave_pools(wave.text)
    subject[rows] = subjects.pick(lang[rows], draws[1])
    body[rows] = bodies.pick(lang[rows], draws[2])


# --- batches ------------------------------------------------------------------------------------


@dataclass
class TicketBatch:
    """Generated tickets as parallel columns; ``records()`` gives what the producer sends."""

    keys: list[bytes]
    values: list[bytes]
    timestamps_ms: list[int]
    malformed: dict[int, str] = field(default_factory=dict)  # index -> kind (MALFORMED_KINDS)
    wave_rows: list[int] = field(default_factory=list)  # indices of the incident wave's tickets
    schema_version: int = DEFAULT_SCHEMA_VERSION  # the version of the ticket schema the values follow

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


def _value_template(names: list[str]) -> str:
    return "{" + ",".join(f"{json.dumps(name)}:%s" for name in names) + "}"


def _tags(content_key: int, count: int) -> list[str]:
    """JSON arrays of 1 to :data:`MAX_TAGS` distinct tags, from their own generator."""
    rng = np.random.default_rng(content_key + 2)
    sizes = rng.integers(1, MAX_TAGS + 1, size=count)
    order = rng.random((count, len(TAGS))).argsort(axis=1)
    return [json.dumps([TAGS[i] for i in order[row, :size]]) for row, size in enumerate(sizes.tolist())]


def _columns(
    rng: np.random.Generator, count: int, ids: list[str], created_at: list[str], wave: _WaveRows | None
) -> dict[str, Any]:
    """JSON-encoded column of every schema field; the wave's rows (if any) are its incidents."""
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
    body = vocab.bodies.pick(group, uniform[2])
    if wave is not None:
        _apply_wave(wave, lang, kind, priority, subject, body)
    parts = zip(
        vocab.openings.pick_some(lang, uniform[1], OPENING_SHARE),
        body,
        vocab.details.pick_some(lang, uniform[3], DETAIL_SHARE),
        vocab.closings.pick_some(lang, uniform[4], CLOSING_SHARE),
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
    }


def _generate(
    content_key: int,
    id_keys: tuple[int, int],
    first_index: int,
    timestamps_ms: np.ndarray,
    malformed_share: float,
    wave: _WaveRows | None = None,
    schema_version: int = DEFAULT_SCHEMA_VERSION,
) -> TicketBatch:
    """Tickets created at ``timestamps_ms``, of ``schema_version``; ``content_key`` seeds the
    content, ``id_keys`` the ids.

    The wave draws from its own generator: the other tickets and the malformed rows are those of
    the same batch without a wave.
    """
    if not 0.0 <= malformed_share <= 1.0:
        raise ValueError(f"malformed_share must be in [0, 1], got {malformed_share}")
    count = len(timestamps_ms)
    rng = np.random.default_rng(content_key)
    ids = ticket_ids(*id_keys, first_index, count)
    if wave is not None:
        for row, wave_id in zip(wave.rows.tolist(), wave.ids, strict=True):
            ids[row] = wave_id
    columns = _columns(rng, count, ids, format_created_at(timestamps_ms), wave)
    columns["schema_version"] = [json.dumps(schema_version)] * count
    if "tags" in schema.committed(schema_version).fields():
        columns["tags"] = _tags(content_key, count)
    names = schema.committed(schema_version).fields()
    if set(columns) != set(names):
        raise ValueError(f"generator columns {sorted(columns)} do not match the schema fields {names}")
    template = _value_template(names)
    values = [(template % row).encode() for row in zip(*(columns[name] for name in names), strict=True)]
    batch = TicketBatch(
        [i.encode() for i in ids], values, timestamps_ms.tolist(), schema_version=schema_version
    )
    if wave is not None:
        batch.wave_rows = wave.rows.tolist()
    inject_malformed(batch, malformed_share, rng)
    return batch


def generate_batch(
    start: datetime,
    end: datetime,
    count: int | None = None,
    seed: int = 0,
    malformed_share: float = 0.0,
    incident_wave: IncidentWave | None = None,
    schema_version: int = DEFAULT_SCHEMA_VERSION,
) -> TicketBatch:
    """``count`` tickets (default ``BATCH_SIZE``) created in ``[start, end)``, in creation order,
    following ``schema_version`` of the ticket schema (version 2 adds ``tags``).

    Deterministic in ``(start, end, seed, count, malformed_share, incident_wave, schema_version)``;
    ids depend only on ``(start, end, seed)`` and the index, and for the wave's tickets on its
    text too; a version 2 ticket is its version 1 twin with ``tags``.
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
    wave = _batch_wave(incident_wave, f"{seed}|{start_ms}|{end_ms}", count) if incident_wave else None
    return _generate(content_key, (key_a, key_b), 0, timestamps, malformed_share, wave, schema_version)


def generate_stream_chunk(
    seed: int,
    first_index: int,
    timestamps_ms: list[int],
    malformed_share: float = 0.0,
    incident_wave: IncidentWave | None = None,
    schema_version: int = DEFAULT_SCHEMA_VERSION,
) -> TicketBatch:
    """Tickets ``first_index ..`` of the endless stream of ``seed``, created at ``timestamps_ms``.

    Ids depend only on ``(seed, index)`` (and the wave's text for its tickets), so a stream never
    repeats an id; each ticket is in the wave with probability ``incident_wave.share``.
    """
    _, key_a, key_b = _keys(f"stream|{seed}")
    content_key = _keys(f"stream|{seed}|{first_index}")[0]
    count = len(timestamps_ms)
    wave = _stream_wave(incident_wave, seed, first_index, count) if incident_wave else None
    return _generate(
        content_key,
        (key_a, key_b),
        first_index,
        np.asarray(timestamps_ms, dtype=np.int64),
        malformed_share,
        wave,
        schema_version,
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
