"""An Open Inference Protocol (KServe V2) gRPC server: ours, Triton or KServe. The classes come
from the model's metadata; a batch of texts travels in one request."""

from __future__ import annotations

import grpc

from services.teacher.adapters import Answer, TeacherAdapter, TeacherError
from shared.oip import PROBABILITIES_OUTPUT, OipClient, probabilities_from_response

RETRYABLE = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.INTERNAL,
             grpc.StatusCode.UNKNOWN, grpc.StatusCode.ABORTED}


def _error(exc: grpc.aio.AioRpcError) -> TeacherError:
    message = f"{exc.code().name}: {exc.details()}"
    if exc.code() == grpc.StatusCode.RESOURCE_EXHAUSTED:
        retry_after = dict(exc.trailing_metadata() or ()).get("retry-after")
        try:
            seconds = float(retry_after) if retry_after else None
        except ValueError:
            seconds = None
        return TeacherError(message, rate_limited=True, retry_after_s=seconds)
    return TeacherError(message, retryable=exc.code() in RETRYABLE)


OIP_CONNECTIONS = 8  # with 2 serving processes, all 8 land on one with probability 1/128


class Adapter(TeacherAdapter):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.texts_per_request = self.spec.batch_size
        # Several connections, so that this job's requests spread over every serving process of
        # every replica (each balances connections, not requests).
        self.client = OipClient(self.spec.url, api_key=self.api_key, timeout_s=self.spec.timeout_s,
                                connections=OIP_CONNECTIONS)

    async def open(self) -> None:
        try:
            self.classes = await self.client.classes(self.spec.model, self.spec.version)
        except grpc.aio.AioRpcError as exc:
            raise _error(exc) from None

    async def request(self, texts: list[str]) -> list[Answer]:
        try:
            # Named, so a key without the probabilities scope is refused with a status that says so.
            response = await self.client.infer(self.spec.model, texts, self.spec.version, outputs=[PROBABILITIES_OUTPUT])
            probabilities = probabilities_from_response(response)
        except grpc.aio.AioRpcError as exc:
            raise _error(exc) from None
        except (KeyError, ValueError) as exc:
            raise TeacherError(f"malformed answer: {exc}", retryable=True) from None
        if probabilities.shape != (len(texts), len(self.classes)):
            raise TeacherError(f"malformed answer: probabilities of shape {probabilities.shape}, "
                               f"expected {(len(texts), len(self.classes))}", retryable=True)
        return [Answer(probabilities=[round(float(p), 7) for p in row], model_version=response.model_version)
                for row in probabilities]

    async def close(self) -> None:
        await self.client.close()
