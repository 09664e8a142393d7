"""Operator commands on who may call the inference service: revoke keys, lift enforcement. Each
changes the store, then tells every inference replica through `inference.control`, so it takes
effect at once (the replicas re-read the store on their own within seconds should the event be lost)."""

from __future__ import annotations

import getpass

from shared.events import AccessChange
from shared.kafka import make_broker
from shared.keys import Enforcement, EnforcementStore, KeyStore
from shared.settings import KafkaSettings
from shared.store import ArtifactStore


def operator() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return "operator"


async def announce(change: AccessChange, kafka: KafkaSettings | None = None) -> None:
    broker = make_broker(kafka or KafkaSettings(), "cli", logger=None)
    async with broker:
        await broker.publish(change, "inference.control", key=change.client_id.encode())


async def revoke_key(store: ArtifactStore, name: str, digest_prefix: str = "",
                     kafka: KafkaSettings | None = None) -> list[dict]:
    revoked = KeyStore(store).revoke(name, digest_prefix)
    if revoked:
        await announce(AccessChange(change="key_revoked", client_id=name, by=operator()), kafka)
    return revoked


async def lift_enforcement(store: ArtifactStore, client_id: str, kafka: KafkaSettings | None = None) -> Enforcement | None:
    lifted = EnforcementStore(store).lift(client_id, by=operator())
    if lifted:
        await announce(AccessChange(change="enforcement_lifted", client_id=client_id, by=operator()), kafka)
    return lifted
