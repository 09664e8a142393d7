"""Answer watermarking (DAWN, Szyller et al. 2021) and the statistics that prove ownership with it.

A keyed hash (HMAC-SHA256) of the normalised input selects a fraction of inputs; for those the
answer's top class is swapped with a key-chosen other class, uniform over the classes the model did
not pick. The probabilities stay a permutation of the model's own, so a watermarked answer is as
confident as a real one. The choice depends on the key, the text and the model's top class only:
the same input always gets the same answer, for every client, so neither retries nor a second
account can average it out.

Why the test is exact: for a model that never learnt from our answers, the key-chosen class is a
fresh uniform draw among the classes other than ours, independent of what that model answers. On an
input where the suspect disagrees with our real answer it hits the watermark class with probability
1/(K-1); where it agrees, never. So the number of hits, given the suspect's own answers, is
Binomial(disagreements, 1/(K-1)) under the null, and the p-value needs no assumption about the
suspect beyond not knowing the key.

Keys: WATERMARK_KEYS is "id:secret,id:secret,...", newest first; the first marks new answers and
all of them verify old ledger entries (rotation keeps the old keys).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings

from shared.fingerprint import normalise
from shared.settings import group

LEDGER_PREFIX = "watermark/ledger"
_DOMAIN = b"distillery-watermark-v1\0"  # versioned, so a change of scheme cannot collide with this one
_KEY_ID = re.compile(r"[A-Za-z0-9_.-]{1,32}")


class WatermarkKeySettings(BaseSettings):
    """Read by the inference service (to mark) and by `distillery verify` (to check the ledger)."""

    model_config = group("WATERMARK_")

    keys: SecretStr = SecretStr("")
    """Watermark keys, newest first: `id:secret,id:secret` (`distillery watermark new-key`); keep old ones,
    `distillery verify` needs them for the entries they made."""


@dataclass(frozen=True)
class WatermarkKey:
    key_id: str
    secret: bytes

    def digest(self, text: str) -> bytes:
        return hmac.new(self.secret, _DOMAIN + normalise(text).encode("utf-8"), hashlib.sha256).digest()


def parse_keys(spec: str) -> list[WatermarkKey]:
    """"id:secret,id:secret" (newest first) -> keys. A secret is at least 16 characters."""
    keys = []
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        key_id, sep, secret = part.partition(":")
        if not sep or not _KEY_ID.fullmatch(key_id) or len(secret) < 16:
            raise ValueError("WATERMARK_KEYS must be 'id:secret' pairs separated by commas, newest first; an id is "
                             "1-32 letters, digits, '_', '.' or '-', a secret at least 16 characters "
                             "(`distillery watermark new-key` makes one)")
        keys.append(WatermarkKey(key_id, secret.encode()))
    if len({k.key_id for k in keys}) != len(keys):
        raise ValueError("WATERMARK_KEYS names one key id twice")
    return keys


def new_key(key_id: str | None = None) -> str:
    """A fresh 'id:secret' pair (256 random bits)."""
    return f"{key_id or 'wm-' + secrets.token_hex(4)}:{secrets.token_hex(32)}"


def watermark_class(key: WatermarkKey, text: str, top: int, n_classes: int, fraction: float) -> int | None:
    """The class to answer instead of `top`, or None when this input is not watermarked. Inputs
    selected at a fraction stay selected at any larger one (raising it only adds)."""
    if n_classes < 2 or fraction <= 0:
        return None
    digest = key.digest(text)
    if int.from_bytes(digest[:8], "big") >= fraction * 2**64:
        return None
    other = int.from_bytes(digest[8:16], "big") % (n_classes - 1)
    return other + (other >= top)  # uniform over the n_classes - 1 classes that are not `top`


class LedgerEntry(BaseModel):
    """One watermarked answer, as the inference service records it in the ledger."""

    client_id: str
    model: str
    model_version: str
    key_id: str
    fraction: float  # the fraction in force for this client when it was answered
    text_sha256: str
    text: str
    n_classes: int
    true_index: int  # what the model answered
    true_class: str
    answer_index: int  # what the client got
    answer_class: str
    time: datetime


def ledger_prefix(client_id: str | None = None) -> str:
    return f"{LEDGER_PREFIX}/{client_id}/" if client_id else f"{LEDGER_PREFIX}/"


def entry_is_genuine(entry: LedgerEntry, keys: dict[str, WatermarkKey]) -> bool:
    """Whether the key named in the entry really selects its text and chooses its answer: a ledger
    entry cannot be made up after the fact without the key."""
    key = keys.get(entry.key_id)
    return key is not None and watermark_class(key, entry.text, entry.true_index, entry.n_classes,
                                               entry.fraction) == entry.answer_index


# ---- statistics -------------------------------------------------------------------------------

def log_binomial_tail(hits: int, trials: int, p: float) -> float:
    """ln P(X >= hits) for X ~ Binomial(trials, p), exact, in log space (p-values far below 1e-308
    stay representable as logarithms)."""
    if hits <= 0:
        return 0.0
    if hits > trials or p <= 0:
        return -math.inf
    if p >= 1:
        return 0.0
    logs = [math.lgamma(trials + 1) - math.lgamma(i + 1) - math.lgamma(trials - i + 1)
            + i * math.log(p) + (trials - i) * math.log1p(-p) for i in range(hits, trials + 1)]
    top = max(logs)
    return min(0.0, top + math.log(sum(math.exp(v - top) for v in logs)))


@dataclass
class OwnershipTest:
    """The one-sided test of hits against the null of a model that never saw our answers."""

    queries: int  # ledger inputs replayed to the suspect
    hits: int  # the suspect answered our watermark class
    disagreements: int  # the suspect did not answer our real class (hits included)
    n_classes: int

    @property
    def null_per_disagreement(self) -> float:
        return 1.0 / (self.n_classes - 1)

    @property
    def null_rate(self) -> float:
        """Per replayed input: how often a model that never saw our answers hits the watermark."""
        return self.disagreements / self.queries / (self.n_classes - 1) if self.queries else 0.0

    @property
    def log10_p_value(self) -> float:
        return log_binomial_tail(self.hits, self.disagreements, self.null_per_disagreement) / math.log(10)

    @property
    def p_value(self) -> float:
        return 10 ** self.log10_p_value


def queries_needed(outcomes: list[tuple[bool, bool]], n_classes: int, alpha: float) -> int | None:
    """The first number of replayed inputs at which the test reaches p < alpha; outcomes are
    (hit, disagreed) per input, in replay order. None when it never does."""
    hits = disagreements = 0
    for i, (hit, disagreed) in enumerate(outcomes, 1):
        hits += hit
        disagreements += disagreed
        if hit and OwnershipTest(i, hits, disagreements, n_classes).log10_p_value < math.log10(alpha):
            return i
    return None


def entries_from_jsonl(body: bytes) -> list[LedgerEntry]:
    return [LedgerEntry(**json.loads(line)) for line in body.decode("utf-8").splitlines() if line.strip()]


class LedgerSummary(BaseModel):
    client_id: str | None = None
    objects: int = 0
    entries: int = 0
    distinct_inputs: int = 0
    rejected: int = Field(0, description="entries the keys do not confirm (unknown key, or tampered)")
    keys: dict[str, int] = Field(default_factory=dict)  # key id -> inputs used
    models: list[str] = Field(default_factory=list)


def read_ledger(store, keys: list[WatermarkKey], client_id: str | None = None,
                model: str | None = None) -> tuple[list[LedgerEntry], LedgerSummary]:
    """The ledger's genuine entries, one per distinct input (the earliest), oldest first."""
    by_id = {k.key_id: k for k in keys}
    summary = LedgerSummary(client_id=client_id)
    chosen: dict[str, LedgerEntry] = {}
    for object_key in store.list(ledger_prefix(client_id)):
        summary.objects += 1
        for entry in entries_from_jsonl(store.get_bytes(object_key)):
            if model and entry.model != model:
                continue
            summary.entries += 1
            if not entry_is_genuine(entry, by_id):
                summary.rejected += 1
            elif entry.text_sha256 not in chosen or entry.time < chosen[entry.text_sha256].time:
                chosen[entry.text_sha256] = entry
    entries = sorted(chosen.values(), key=lambda e: (e.time, e.text_sha256))
    summary.distinct_inputs = len(entries)
    for entry in entries:
        summary.keys[entry.key_id] = summary.keys.get(entry.key_id, 0) + 1
    summary.models = sorted({f"{e.model} v{e.model_version}" for e in entries})
    return entries, summary
