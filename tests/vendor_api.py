"""A stand-in for a vendor's OpenAI-compatible API, on loopback: real HTTP, a deterministic "model",
configurable latency, and injected faults (429 with Retry-After, 500, timeouts, malformed JSON,
bodies cut short). It records every request it serves, so tests can count what was paid for.

The "model" gives each text a class from a hash of it, with top_logprobs that put 0.7 on that class
and spread the rest over the next few, so soft labels can be checked exactly. Asked without a
numbered class list in the system message, it generates instead: the text's words back, reversed,
a token a word, each with top_logprobs (`generation_of`), cut at `max_tokens` (finish_reason length).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def true_class(text: str, n_classes: int) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big") % n_classes


def true_distribution(text: str, n_classes: int) -> list[float]:
    top = true_class(text, n_classes)
    probabilities = [0.0] * n_classes
    probabilities[top] = 0.7
    for step, mass in enumerate((0.15, 0.1, 0.05), 1):
        probabilities[(top + step) % n_classes] += mass
    return probabilities


def embedding_of(text: str, dim: int = 8) -> list[float]:
    digest = hashlib.sha256(text.encode()).digest()
    return [round((b - 127.5) / 127.5, 6) for b in digest[:dim]]


def generation_of(text: str) -> list[str]:
    """The stand-in's whole answer to a prompt, as tokens: its words reversed, each after a space."""
    return [f" {word}" for word in reversed(text.split())] or [" ."]


GENERATION_LOGPROB = math.log(0.6)  # the chosen token's; two alternatives share what is left but 0.1


def token_entry(token: str, logprob: float) -> dict:
    return {"token": token, "logprob": logprob, "bytes": list(token.encode())}


@dataclass
class ServedRequest:
    time: float
    path: str
    texts: list[str]
    outcome: str  # "ok" or the fault served


@dataclass
class VendorState:
    api_key: str = "sk-test-vendor"
    latency_s: float = 0.0
    faults: deque = field(default_factory=deque)  # served to the next requests, one each, in order
    always: str | None = None  # a fault served to every request (a teacher that is down)
    timeout_sleep_s: float = 3.0  # how long a "timeout" fault stalls
    served: list[ServedRequest] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_fault(self) -> str | None:
        with self.lock:
            if self.always:
                return self.always
            return self.faults.popleft() if self.faults else None

    def queries_by_text(self) -> Counter:
        return Counter(t for r in self.served for t in r.texts)

    def ok_by_text(self) -> Counter:
        return Counter(t for r in self.served if r.outcome == "ok" for t in r.texts)


class VendorHandler(BaseHTTPRequestHandler):
    server: VendorServer
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # quiet
        pass

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None, length: int | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(length if length is not None else len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def do_POST(self) -> None:
        state = self.server.state
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        if self.headers.get("Authorization") != f"Bearer {state.api_key}":
            self._send(401, json.dumps({"error": {"message": "Incorrect API key provided"}}).encode())
            return
        path = self.path.rstrip("/")
        if path.endswith("/chat/completions"):
            texts = [m["content"] for m in body.get("messages", []) if m.get("role") == "user"]
        elif path.endswith("/embeddings"):
            texts = list(body.get("input", []))
        else:
            self._send(404, b'{"error": {"message": "no such endpoint"}}')
            return
        fault = state.next_fault()
        with state.lock:
            state.served.append(ServedRequest(time.monotonic(), path, texts, fault or "ok"))
        if state.latency_s:
            time.sleep(state.latency_s)
        if fault is not None:
            self._fault(fault)
            return
        answer = self._chat(body, texts[0]) if path.endswith("/chat/completions") else self._embeddings(body, texts)
        self._send(200, json.dumps(answer).encode())

    def _fault(self, fault: str) -> None:
        kind, _, arg = fault.partition(":")
        if kind == "429":
            self._send(429, b'{"error": {"message": "Rate limit reached"}}', {"Retry-After": arg or "1"})
        elif kind in ("500", "502", "503", "400"):
            self._send(int(kind), json.dumps({"error": {"message": f"injected {kind}"}}).encode())
        elif kind == "timeout":
            time.sleep(self.server.state.timeout_sleep_s)
            self._send(500, b'{"error": {"message": "too late"}}')
        elif kind == "malformed":
            self._send(200, b'{"choices": [{"message": {"content": "3"')
        elif kind == "no-logprobs":  # a valid answer from an API that does not do logprobs
            self._send(200, json.dumps({"choices": [{"index": 0, "finish_reason": "stop",
                                                     "message": {"role": "assistant", "content": " words"}}],
                                        "usage": {"prompt_tokens": 5, "completion_tokens": 1}}).encode())
        elif kind == "truncated":
            body = b'{"choices": [{"message": {"content": "3"}}]}'
            self._send(200, body[:10], length=len(body))  # promises more than it sends, then hangs up
            self.close_connection = True
        else:
            raise ValueError(f"unknown fault {fault!r}")

    def _chat(self, body: dict, text: str) -> dict:
        system = next((m["content"] for m in body.get("messages", []) if m.get("role") == "system"), "")
        n_classes = len(re.findall(r"^\d+\. ", system, flags=re.M))
        if not n_classes:
            return self._generate(body, system, text)
        probabilities = true_distribution(text, n_classes)
        top = max(range(n_classes), key=lambda i: probabilities[i])
        choice: dict = {"index": 0, "message": {"role": "assistant", "content": str(top + 1)}, "finish_reason": "stop"}
        if body.get("logprobs"):
            ranked = sorted(range(n_classes), key=lambda i: -probabilities[i])[: body.get("top_logprobs", 0)]
            top_logprobs = [{"token": str(i + 1), "logprob": math.log(probabilities[i])} for i in ranked
                            if probabilities[i] > 0]
            choice["logprobs"] = {"content": [{"token": str(top + 1), "logprob": math.log(probabilities[top]),
                                               "top_logprobs": top_logprobs}]}
        prompt_tokens = (len(system) + len(text)) // 4 + 10
        return {"id": "chatcmpl-test", "object": "chat.completion", "model": body.get("model", ""),
                "choices": [choice], "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": 1,
                                               "total_tokens": prompt_tokens + 1}}

    def _generate(self, body: dict, system: str, text: str) -> dict:
        tokens = generation_of(text)
        limit = int(body.get("max_tokens") or body.get("max_completion_tokens") or 16)
        finish = "length" if len(tokens) > limit else "stop"
        tokens = tokens[:limit]
        choice: dict = {"index": 0, "message": {"role": "assistant", "content": "".join(tokens)}, "finish_reason": finish}
        if body.get("logprobs"):
            k = int(body.get("top_logprobs") or 0)
            choice["logprobs"] = {"content": [
                {**token_entry(token, GENERATION_LOGPROB),
                 "top_logprobs": [token_entry(token, GENERATION_LOGPROB), token_entry(" and", math.log(0.2)),
                                  token_entry(" the", math.log(0.1))][:k]}
                for token in tokens]}
        prompt_tokens = (len(system) + len(text)) // 4 + 10
        return {"id": "chatcmpl-test", "object": "chat.completion", "model": body.get("model", ""),
                "choices": [choice], "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": len(tokens),
                                               "total_tokens": prompt_tokens + len(tokens)}}

    def _embeddings(self, body: dict, texts: list[str]) -> dict:
        tokens = sum(len(t) // 4 + 1 for t in texts)
        return {"object": "list", "model": body.get("model", ""),
                "data": [{"object": "embedding", "index": i, "embedding": embedding_of(t)} for i, t in enumerate(texts)],
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}


class VendorServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def __init__(self, state: VendorState | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__((host, port), VendorHandler)
        self.state = state or VendorState()
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    def handle_error(self, request, client_address) -> None:
        pass  # a client that gave up on a stalled answer hangs up: expected here

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        assert isinstance(host, str)  # an AF_INET socket's address: (str, int)
        return f"http://{host}:{port}/v1"

    def __enter__(self) -> VendorServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown()
        self.server_close()
