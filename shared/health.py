"""The standard gRPC health service for the Kafka-only services, so that Kubernetes probes every
service the same way (gRPC probes). Off unless DISTILLERY_HEALTH_PORT is set."""

from __future__ import annotations

import grpc
from faststream import FastStream
from grpc_health.v1 import health, health_pb2, health_pb2_grpc


def serve_health(app: FastStream, port: int) -> None:
    if not port:
        return
    state: dict = {}

    @app.after_startup
    async def start_health() -> None:
        server = grpc.aio.server()
        servicer = health.aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
        server.add_insecure_port(f"0.0.0.0:{port}")
        await server.start()
        await servicer.set("", health_pb2.HealthCheckResponse.SERVING)  # consumers are up by now
        state.update(server=server, servicer=servicer)

    @app.on_shutdown
    async def stop_health() -> None:
        if state:
            await state["servicer"].enter_graceful_shutdown()
            await state["server"].stop(2)


def health_status(address: str, timeout_s: float = 2.0) -> str:
    """What a gRPC health probe gets from `address`: SERVING, NOT_SERVING, or the failure's status
    code (UNAVAILABLE while nothing listens there)."""
    with grpc.insecure_channel(address) as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""), timeout=timeout_s)
        except grpc.RpcError as exc:
            return exc.code().name
    return health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
