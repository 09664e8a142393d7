"""What the OpenAI-compatible adapters share: one HTTP client per teacher, and the mapping of every
way a request can fail onto TeacherError. The API key goes in a header and nowhere else."""

from __future__ import annotations

import email.utils
import json
import time

import httpx

from services.teacher.adapters import TeacherError


def retry_after_s(response: httpx.Response) -> float | None:
    """Seconds from `retry-after-ms`, or `Retry-After` in seconds or as an HTTP date."""
    if (ms := response.headers.get("retry-after-ms")) is not None:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value) if value else None
        return max(0.0, parsed.timestamp() - time.time()) if parsed else None


def api_message(response: httpx.Response) -> str:
    try:
        error = response.json().get("error")
        if isinstance(error, dict):
            return str(error.get("message", error))[:300]
        if error:
            return str(error)[:300]
    except (ValueError, AttributeError):
        pass
    return response.text[:300]


class OpenAIHttp:
    def __init__(self, base_url: str, api_key: str, timeout_s: float, max_connections: int) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.client = httpx.AsyncClient(base_url=base_url.rstrip("/") + "/", headers=headers,
                                        timeout=httpx.Timeout(timeout_s),
                                        limits=httpx.Limits(max_connections=max_connections))

    async def post(self, path: str, body: dict) -> dict:
        try:
            response = await self.client.post(path, json=body)
            content = await response.aread()
        except httpx.TimeoutException as exc:
            raise TeacherError(f"timed out ({type(exc).__name__})", retryable=True) from None
        except httpx.TransportError as exc:  # refused, reset, or a body cut short
            raise TeacherError(f"transport error: {type(exc).__name__}: {exc}", retryable=True) from None
        if response.status_code == 429:
            raise TeacherError(f"429 rate limited: {api_message(response)}", rate_limited=True,
                               retry_after_s=retry_after_s(response))
        if response.status_code >= 500 or response.status_code == 408:
            raise TeacherError(f"{response.status_code}: {api_message(response)}", retryable=True)
        if response.status_code >= 400:
            raise TeacherError(f"{response.status_code}: {api_message(response)}")
        try:
            data = json.loads(content)
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
            return data
        except ValueError as exc:
            raise TeacherError(f"malformed JSON from the teacher: {exc}", retryable=True) from None

    async def close(self) -> None:
        await self.client.aclose()
