"""Who may call, and how fast: API keys, per-key quotas, and the enforcement of abuse alerts.

Quotas are token buckets per client in each replica; a key's quota (requests per second) is split
evenly over the replicas the operator declares (INFERENCE_REPLICAS), since a client's requests are
spread over them by the load balancer. Enforcement follows a policy per alert severity: `throttle`
(to `throttle_rps`) or `block` (PERMISSION_DENIED) until an operator lifts it; a detector resolving
its alert ends a throttle, never a block. A client under any open alert (even one whose severity
does nothing) has more of its answers watermarked, until the alert resolves or an operator lifts it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Literal

import grpc

from shared.events import AbuseAlert, AccessChange, utcnow
from shared.keys import Enforcement, EnforcementStore, KeyStore, key_digest

log = logging.getLogger(__name__)

Action = Literal["none", "throttle", "block"]
RANK = {"none": 0, "throttle": 1, "block": 2}
# Throttle first: the detector rates an alert critical only when two independent lead tests back it.
DEFAULT_POLICY: dict[str, Action] = {"low": "none", "medium": "throttle", "high": "throttle", "critical": "block"}


class RequestError(Exception):
    """Becomes the gRPC status of the request that raised it."""

    def __init__(self, code: grpc.StatusCode, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retry_after_s = retry_after_s  # for a refusal by quota: when a retry may pass


@dataclass
class Client:
    client_id: str
    rps: float | None  # the key's quota; None: the service's default
    scopes: frozenset[str] = frozenset()  # shared.keys.SCOPES granted to the key
    tpm: int | None = None  # generative models: tokens a minute; None: the service's default


class TokenBucket:
    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.updated = time.monotonic()

    def _refill(self) -> None:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    def take(self) -> bool:
        self._refill()
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False

    def wait_s(self, need: float = 1.0) -> float:
        """Seconds until `need` tokens are there."""
        self._refill()
        return max(0.0, (need - self.tokens) / self.rate)

    def spend(self, amount: float) -> None:
        """Take what was used, into debt if need be (generated tokens are counted after the fact)."""
        self._refill()
        self.tokens -= amount


class AccessControl:
    def __init__(self, keys: KeyStore, enforcement: EnforcementStore, executor: Executor, *,
                 default_rps: float = 0.0, default_tpm: int = 0, replicas: int = 1, policy: dict[str, Action] | None = None,
                 throttle_rps: float = 1.0, key_ttl_s: float = 10.0, unknown_key_ttl_s: float = 1.0) -> None:
        self.keys = keys
        self.enforcement = enforcement
        self.executor = executor
        self.default_rps = default_rps  # 0: no quota
        self.default_tpm = default_tpm  # 0: no quota
        self._token_buckets: dict[str, TokenBucket] = {}
        self.replicas = max(1, replicas)
        self.policy = {**DEFAULT_POLICY, **(policy or {})}
        self.throttle_rps = throttle_rps
        self.key_ttl_s = key_ttl_s
        self.unknown_key_ttl_s = unknown_key_ttl_s
        self._keys: dict[str, tuple[Client | None, float]] = {}  # key digest -> (client, good until)
        self._buckets: dict[str, TokenBucket] = {}
        self.enforced: dict[str, Enforcement] = {}
        self.alerted: dict[str, str] = {}  # client -> its open alert; rebuilt from the topic at start

    async def _blocking(self, func, *args):
        return await asyncio.get_running_loop().run_in_executor(self.executor, func, *args)

    # ---- keys ------------------------------------------------------------------------------

    async def authenticate(self, metadata) -> Client:
        header = dict(metadata or ()).get("authorization", "")
        if not header:
            raise RequestError(grpc.StatusCode.UNAUTHENTICATED,
                               "missing API key: send 'authorization: Bearer <key>' (gRPC metadata, or the HTTP "
                               "header; the openai SDK's api_key) - an operator creates one with "
                               "`distillery keys create NAME`")
        scheme, _, key = header.partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise RequestError(grpc.StatusCode.UNAUTHENTICATED, "malformed authorization: expected 'Bearer <key>'")
        digest = key_digest(key.strip())
        cached = self._keys.get(digest)
        if cached and cached[1] > time.monotonic():
            client = cached[0]
        else:
            record = await self._blocking(self.keys.lookup, key.strip())
            client = Client(record["client_id"], record.get("rps"), frozenset(record.get("scopes", ())),
                            record.get("tpm")) if record else None
            ttl = self.key_ttl_s if client else self.unknown_key_ttl_s
            self._keys[digest] = (client, time.monotonic() + ttl)
        if client is None:
            raise RequestError(grpc.StatusCode.UNAUTHENTICATED, "unknown or revoked API key")
        return client

    def forget_client(self, client_id: str) -> None:
        """Drop cached keys of a client, so its next request reads the store (a revocation)."""
        for digest, (client, _) in list(self._keys.items()):
            if client is None or client.client_id == client_id:
                del self._keys[digest]
        self._buckets.pop(client_id, None)
        self._token_buckets.pop(client_id, None)

    # ---- quotas and enforcement ------------------------------------------------------------

    def admit(self, client: Client) -> None:
        """Raises PERMISSION_DENIED for a blocked client, RESOURCE_EXHAUSTED over its rate."""
        enforced = self.enforced.get(client.client_id)
        if enforced and enforced.action == "block":
            raise RequestError(grpc.StatusCode.PERMISSION_DENIED,
                               f"client {client.client_id!r} is blocked after abuse alert {enforced.alert_id} "
                               f"(severity {enforced.severity}); ask the operator to review it "
                               f"(`distillery enforcement lift {client.client_id}`)")
        rate = client.rps or self.default_rps
        if enforced and enforced.action == "throttle":
            # A throttle record always carries its rate; one without (written by hand) gets the service's.
            throttled = enforced.rps if enforced.rps is not None else self.throttle_rps
            rate = min(rate or throttled, throttled)
            why = f"is throttled to {rate:g} requests/s after abuse alert {enforced.alert_id}"
        else:
            why = f"is over its quota of {rate:g} requests/s"
        if not rate:
            return
        rate /= self.replicas
        bucket = self._buckets.get(client.client_id)
        if bucket is None or bucket.rate != rate:
            # A burst of one second's worth, at least one request.
            bucket = self._buckets[client.client_id] = TokenBucket(rate, max(1.0, rate))
        if not bucket.take():
            raise RequestError(grpc.StatusCode.RESOURCE_EXHAUSTED, f"client {client.client_id!r} {why}: retry with backoff",
                               retry_after_s=bucket.wait_s())

    def _token_bucket(self, client: Client) -> TokenBucket | None:
        tpm = client.tpm or self.default_tpm
        if not tpm:
            return None
        rate = tpm / 60 / self.replicas
        bucket = self._token_buckets.get(client.client_id)
        if bucket is None or bucket.rate != rate:
            bucket = self._token_buckets[client.client_id] = TokenBucket(rate, tpm / self.replicas)
        return bucket

    def admit_tokens(self, client: Client, prompt_tokens: int) -> None:
        """Generative models: RESOURCE_EXHAUSTED while a key's tokens-per-minute quota is spent; the
        request's own tokens are charged as they are used (`spend_tokens`)."""
        bucket = self._token_bucket(client)
        if bucket is not None and bucket.wait_s(min(prompt_tokens, bucket.burst)) > 0:
            raise RequestError(grpc.StatusCode.RESOURCE_EXHAUSTED,
                               f"client {client.client_id!r} is over its quota of {client.tpm or self.default_tpm} "
                               "tokens per minute: retry after the Retry-After seconds",
                               retry_after_s=bucket.wait_s(min(prompt_tokens, bucket.burst)))

    def spend_tokens(self, client: Client, tokens: int) -> None:
        bucket = self._token_bucket(client)
        if bucket is not None:
            bucket.spend(tokens)

    async def refresh(self) -> None:
        """Re-read every enforcement record (startup, reconcile, an operator's change)."""
        self.enforced = await self._blocking(self.enforcement.all)

    def under_alert(self, client_id: str) -> bool:
        return client_id in self.alerted

    async def on_alert(self, alert: AbuseAlert) -> list[Enforcement]:
        """Apply the policy for an alert; returns the records changed."""
        if alert.status == "resolve":
            for client_id in alert.client_ids:
                if self.alerted.get(client_id) == alert.alert_id:
                    del self.alerted[client_id]
            ended = [c for c in alert.client_ids if (e := self.enforced.get(c)) and e.alert_id == alert.alert_id
                     and e.action == "throttle"]
            for client_id in ended:
                self.enforced.pop(client_id, None)
                await self._blocking(self.enforcement.remove, client_id)
                log.info("throttle of %s ended: alert %s resolved", client_id, alert.alert_id)
            return []
        action = self.policy.get(alert.severity, "none")
        changed = []
        for client_id in alert.client_ids:
            if self.alerted.get(client_id) != alert.alert_id:
                if await self._blocking(self.enforcement.lifted, alert.alert_id, client_id):
                    continue  # an operator has reviewed this alert for this client
                self.alerted[client_id] = alert.alert_id
            current = self.enforced.get(client_id)
            if action == "none" or (current and RANK[current.action] >= RANK[action]):
                continue  # never soften what is already applied
            record = Enforcement(client_id=client_id, action=action,
                                 rps=self.throttle_rps if action == "throttle" else None,
                                 alert_id=alert.alert_id, severity=alert.severity, score=alert.score,
                                 since=utcnow().isoformat())
            self.enforced[client_id] = record
            await self._blocking(self.enforcement.put, record)  # every replica writes the same record
            changed.append(record)
            log.warning("%s %s: alert %s, severity %s, score %.2f", action, client_id, alert.alert_id,
                        alert.severity, alert.score)
        return changed

    async def on_change(self, change: AccessChange) -> None:
        if change.change == "key_revoked":
            self.forget_client(change.client_id)
        else:
            self.alerted.pop(change.client_id, None)  # the operator reviewed the alert
            await self.refresh()
        log.info("%s: %s (by %s)", change.change, change.client_id, change.by or "an operator")
