"""OTLP/gRPC ingest beside OTLP/HTTP: the trace, logs and metrics ``Export`` services.

The OTel SDKs' default protocol (and ``phoenix.otel.register``'s) is gRPC on port
4317, so without it traces never arrive unless an env var switches the exporter
to HTTP. The gRPC server runs on its own threads; each call is the HTTP route's
work done the same way:

- auth: the key in the call's metadata (``authorization: Bearer evl_…``, or Basic
  with an evallock key as the password), looked up by the service's key cache; a
  key of another scope is PERMISSION_DENIED, none or an unknown one UNAUTHENTICATED;
- decoding: the same decoders as ``/v1/traces`` and ``/v1/logs`` (the request's
  protobuf bytes are never parsed twice), metrics counted and dropped as there;
- durability: the reply is sent once the rows are committed by the service's one
  writer (on the service's event loop); a full or closing writer is UNAVAILABLE,
  which OTLP exporters retry;
- bounds: messages past ``max_body_bytes`` are refused by gRPC itself
  (RESOURCE_EXHAUSTED), a value past its limit is INVALID_ARGUMENT naming the field.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections.abc import Callable, Coroutine, Sequence
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

from evallock.limits import FieldLimitError
from evallock.server._apikeys import scope_allows
from evallock.server._auth import basic_secret, bearer_token
from evallock.server._writer import WriterBusy, WriterClosed
from evallock.traces import OtlpDecodeError, TraceBatch, decode_otlp_logs, decode_otlp_traces

if TYPE_CHECKING:
    import grpc  # type: ignore[import-untyped]

    from evallock.server._state import ServerState

__all__ = ["GrpcIngest"]

_log = logging.getLogger("evallock.serve.grpc")
_PROTOBUF = "application/x-protobuf"
_CALL_TIMEOUT_S = 120.0
_T = TypeVar("_T")


class GrpcIngest:
    """The OTLP/gRPC server of a running service (start it inside the service's event loop)."""

    def __init__(self, state: ServerState, *, host: str, port: int, workers: int = 4) -> None:
        """Serve ``state``'s writer and keys on ``host:port`` (0 picks a free port)."""
        self._state = state
        self._loop = asyncio.get_running_loop()
        self._host = host
        self._port = port
        self._workers = workers
        self._server: grpc.Server | None = None
        self.port: int | None = None
        """The port bound, once started."""

    def start(self) -> int:
        """Bind and start; the port bound.

        Raises:
            InfraError: the port cannot be bound.
        """
        import grpc

        from evallock.errors import InfraError

        limit = self._state.settings.max_body_bytes
        server = grpc.server(
            concurrent.futures.ThreadPoolExecutor(self._workers, "evallock-grpc"),
            options=[("grpc.max_receive_message_length", limit)],
        )
        services = {
            "opentelemetry.proto.collector.trace.v1.TraceService": self._traces,
            "opentelemetry.proto.collector.logs.v1.LogsService": self._logs,
            "opentelemetry.proto.collector.metrics.v1.MetricsService": self._metrics,
        }
        server.add_generic_rpc_handlers(
            [
                grpc.method_handlers_generic_handler(
                    name, {"Export": grpc.unary_unary_rpc_method_handler(handler)}
                )
                for name, handler in services.items()
            ]
        )
        shown = f"[{self._host}]" if ":" in self._host else self._host
        try:
            self.port = server.add_insecure_port(f"{shown}:{self._port}")
        except RuntimeError as exc:
            raise InfraError(
                f"cannot listen for OTLP/gRPC on {shown}:{self._port}: {exc}"
            ) from None
        if not self.port:
            raise InfraError(f"cannot listen for OTLP/gRPC on {shown}:{self._port}")
        server.start()
        self._server = server
        return self.port

    def stop(self, grace_s: float = 5.0) -> None:
        """Stop taking calls; let those in flight finish within ``grace_s``."""
        if self._server is not None:
            self._server.stop(grace_s).wait(grace_s + 1)
            self._server = None

    # -- the three services ---------------------------------------------------------------

    def _traces(self, body: bytes, context: grpc.ServicerContext) -> bytes:
        return self._export(body, context, decode_otlp_traces, logs=False)

    def _logs(self, body: bytes, context: grpc.ServicerContext) -> bytes:
        return self._export(body, context, decode_otlp_logs, logs=True)

    def _metrics(self, body: bytes, context: grpc.ServicerContext) -> bytes:
        from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2 as metrics_pb

        from evallock.server._otlp_metrics import DROPPED, count_data_points

        self._authorize(context)
        try:
            points = count_data_points(body, _PROTOBUF)
        except ValueError as exc:
            self._abort(context, "INVALID_ARGUMENT", f"undecodable metrics export: {exc}")
        self._run(self._count_metrics(points))
        answer = metrics_pb.ExportMetricsServiceResponse()
        answer.partial_success.rejected_data_points = points
        answer.partial_success.error_message = DROPPED
        return bytes(answer.SerializeToString())

    async def _count_metrics(self, points: int) -> None:
        self._state.metrics.metric_points_dropped += points  # counters live on the loop

    def _export(
        self,
        body: bytes,
        context: grpc.ServicerContext,
        decode: Callable[[bytes, str], TraceBatch],
        *,
        logs: bool,
    ) -> bytes:
        from evallock.server._ingest import export_response

        self._authorize(context)
        try:
            batch = decode(body, _PROTOBUF)
        except FieldLimitError as exc:
            self._abort(context, "INVALID_ARGUMENT", f"{exc.field}: {exc.reason}")
        except (OtlpDecodeError, ValueError, RecursionError) as exc:
            self._abort(context, "INVALID_ARGUMENT", str(exc))
        try:
            self._run(self._commit(batch))
        except (WriterBusy, WriterClosed) as exc:
            self._abort(context, "UNAVAILABLE", f"busy: {exc}; retry shortly")
        except Exception as exc:  # logged and counted by the writer; retryable
            self._abort(context, "UNAVAILABLE", f"the store did not take the spans: {exc}")
        partial = batch.rejected_spans > 0 or bool(batch.rejection_message)
        return export_response(batch, partial, logs=logs)

    async def _commit(self, batch: TraceBatch) -> None:
        state = self._state
        await state.writer.write(
            traces=batch.traces, feedback=batch.feedback, spans=batch.span_traces
        )
        state.metrics.spans_received += batch.spans
        state.metrics.spans_rejected += batch.rejected_spans

    # -- helpers --------------------------------------------------------------------------

    def _authorize(self, context: grpc.ServicerContext) -> None:
        """Admit a call whose metadata carries a live key of scope ``ingest`` (or ``admin``)."""
        if self._state.settings.no_auth:
            return
        token = _metadata_token(context.invocation_metadata() or ())
        if token is None:
            self._abort(
                context,
                "UNAUTHENTICATED",
                "an evallock API key is required: metadata authorization: Bearer evl_…",
            )
        found = self._run(self._state.keys.lookup(token))
        if found is None:
            self._abort(
                context,
                "UNAUTHENTICATED",
                f"unknown or revoked API key (checked the store {self._state.store.url})",
            )
        if not scope_allows(found[1], "ingest"):
            self._abort(
                context,
                "PERMISSION_DENIED",
                f"this key's scope is {found[1]!r}; ingest needs 'ingest'",
            )

    def _run(self, coroutine: Coroutine[Any, Any, _T]) -> _T:
        """Run ``coroutine`` on the service's event loop and wait for it (from a gRPC thread)."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(_CALL_TIMEOUT_S)

    @staticmethod
    def _abort(context: grpc.ServicerContext, code: str, message: str) -> NoReturn:
        import grpc

        context.abort(getattr(grpc.StatusCode, code), message)
        raise AssertionError("grpc's abort raises")  # pragma: no cover


def _metadata_token(metadata: Sequence[tuple[str, Any]]) -> str | None:
    """The evallock key in a call's metadata (``authorization`` or ``x-evallock-auth``)."""
    for name, value in metadata:
        if not isinstance(value, str):
            continue
        if name.lower() in ("authorization", "x-evallock-auth"):
            token = bearer_token(value) or basic_secret(value)
            if token is not None:
                return token
    return None
