"""API keys and enforcement records for the inference service, kept in the artifact store.

A key is shown once, when created; the store keeps only its SHA-256, under keys/<sha256>.json, so a
replica checks a key with one lookup. Revoking marks the record; a key created works at once (an
unknown key is looked up again within a second), and a revocation reaches every replica at once
through an `inference.control` event (or within the key cache's lifetime, should that be lost).

Enforcement records (enforcement/<client>.json) say which clients the abuse-alert policy throttles
or blocks; an operator's lift removes one and remembers the alert, so a replay of that alert does
not bring it back.
"""

from __future__ import annotations

import builtins
import hashlib
import json
import math
import re
import secrets
from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel

from shared.events import utcnow
from shared.store import ArtifactStore

PREFIX = "keys"
KEY_PREFIX = "dk_"
# What a key may be granted beyond a classifier's label and its score. "probabilities": the whole
# probability vector (PROBABILITIES, and its top k): it teaches a student far more per query, so it
# is given only where granted, and asking for it is recorded for the detector.
SCOPES = ("probabilities",)
ENFORCEMENT_PREFIX = "enforcement"
LIFTED_PREFIX = "enforcement-lifted"


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class KeyStore:
    def __init__(self, store: ArtifactStore) -> None:
        self.store = store

    def create(self, name: str, rps: float | None = None, scopes: Iterable[str] = (), tpm: int | None = None) -> str:
        """A new key for client `name`; `rps`: its quota in requests per second (None: the
        service's default); `tpm`: its quota in generated-model tokens (prompt and completion) per
        minute (None: the service's default); `scopes`: what it may see beyond a model's label and score (SCOPES).
        A client may hold several keys (rotation)."""
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}", name):
            raise ValueError("a key name is 1-63 letters, digits, '_', '.' or '-'")
        if rps is not None and not (math.isfinite(rps) and rps > 0):  # NaN would never limit
            raise ValueError("a quota is a positive number of requests per second")
        if tpm is not None and tpm < 1:
            raise ValueError("a token quota is a positive number of tokens per minute")
        unknown = sorted(set(scopes) - set(SCOPES))
        if unknown:
            raise ValueError(f"unknown scope {unknown[0]!r}; scopes: {', '.join(SCOPES)}")
        key = KEY_PREFIX + secrets.token_urlsafe(24)
        self.store.put_json(f"{PREFIX}/{key_digest(key)}.json", {
            "name": name, "client_id": name, "created_at": utcnow().isoformat(),
            "digest_prefix": key_digest(key)[:12], "rps": rps, "tpm": tpm, "scopes": sorted(set(scopes)), "revoked_at": None,
        })
        return key

    def lookup(self, key: str) -> dict | None:
        """The record of a valid key; None for an unknown or revoked one."""
        if not key.startswith(KEY_PREFIX):
            return None
        data = self.store.get_optional(f"{PREFIX}/{key_digest(key)}.json")
        record = json.loads(data) if data is not None else None
        return record if record and not record.get("revoked_at") else None

    def list(self) -> list[dict]:
        return sorted(self._records().values(), key=lambda r: r["created_at"])

    def revoke(self, name: str, digest_prefix: str = "") -> builtins.list[dict]:  # `list` here is the method above
        """Revoke the client's keys (only the one whose SHA-256 starts with `digest_prefix`, if
        given); returns the records revoked."""
        revoked = []
        for object_key, record in self._records().items():
            if record["name"] != name or record.get("revoked_at"):
                continue
            if digest_prefix and not record["digest_prefix"].startswith(digest_prefix):
                continue
            record["revoked_at"] = utcnow().isoformat()
            self.store.put_json(object_key, record)
            revoked.append(record)
        return revoked

    def _records(self) -> dict[str, dict]:
        return {k: self.store.get_json(k) for k in self.store.list(f"{PREFIX}/")}


class Enforcement(BaseModel):
    """What the abuse-alert policy applies to one client."""

    client_id: str
    action: Literal["throttle", "block"]
    rps: float | None = None  # the throttled rate
    alert_id: str
    severity: str
    score: float
    since: str


class EnforcementStore:
    def __init__(self, store: ArtifactStore) -> None:
        self.store = store

    def put(self, record: Enforcement) -> None:
        self.store.put_json(f"{ENFORCEMENT_PREFIX}/{record.client_id}.json", record.model_dump())

    def all(self) -> dict[str, Enforcement]:
        records = (Enforcement(**self.store.get_json(k)) for k in self.store.list(f"{ENFORCEMENT_PREFIX}/"))
        return {r.client_id: r for r in records}

    def remove(self, client_id: str) -> None:
        self.store.delete(f"{ENFORCEMENT_PREFIX}/{client_id}.json")

    def lift(self, client_id: str, by: str) -> Enforcement | None:
        """An operator's reversal: the client is served again and this alert is not applied again."""
        record = self.all().get(client_id)
        if record is None:
            return None
        self.store.put_json(f"{LIFTED_PREFIX}/{record.alert_id}/{client_id}.json",
                            {"by": by, "at": utcnow().isoformat(), "record": record.model_dump()})
        self.remove(client_id)
        return record

    def lifted(self, alert_id: str, client_id: str) -> bool:
        return self.store.exists(f"{LIFTED_PREFIX}/{alert_id}/{client_id}.json")
