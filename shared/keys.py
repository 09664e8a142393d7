"""API keys for the inference service, stored hashed in the artifact store.

A key is shown once, when created; the store keeps only its SHA-256, under keys/<sha256>.json, so a
replica checks a key with one lookup and a key created or revoked is seen by every replica at once.
"""

from __future__ import annotations

import hashlib
import re
import secrets

from shared.events import utcnow
from shared.store import ArtifactStore

PREFIX = "keys"
KEY_PREFIX = "dk_"


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class KeyStore:
    def __init__(self, store: ArtifactStore) -> None:
        self.store = store

    def create(self, name: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}", name):
            raise ValueError("a key name is 1-63 letters, digits, '_', '.' or '-'")
        key = KEY_PREFIX + secrets.token_urlsafe(24)
        self.store.put_json(f"{PREFIX}/{key_digest(key)}.json", {
            "name": name, "client_id": name, "created_at": utcnow().isoformat(),
            "digest_prefix": key_digest(key)[:12],
        })
        return key

    def lookup(self, key: str) -> dict | None:
        if not key.startswith(KEY_PREFIX):
            return None
        object_key = f"{PREFIX}/{key_digest(key)}.json"
        return self.store.get_json(object_key) if self.store.exists(object_key) else None

    def list(self) -> list[dict]:
        return sorted((self.store.get_json(k) for k in self.store.list(f"{PREFIX}/")), key=lambda r: r["created_at"])
