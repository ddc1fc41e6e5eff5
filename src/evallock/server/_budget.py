"""The decode budget: how many body bytes ingest may hold at once, across all requests.

One body is bounded by ``max_body_bytes``, but decoding costs a multiple of its
size (the compressed bytes, the decompressed bytes, the parsed protobuf or JSON
objects, the summaries), and nothing bounded how many bodies decode at once:
three concurrent 15 MB OTLP bodies once peaked at 644 MB. So OTLP ingest and
feedback take their bodies' bytes (as sent, plus decompressed when that is a
second copy) from one :class:`DecodeBudget` before holding them, and give them
back when the request ends. A request that does not fit answers **429 with
``Retry-After``**, which OTLP exporters retry after the pause; a request alone
always fits, so no body within the size limit is refused forever.

Everything runs on the event loop and no ``await`` falls between a check and
its update, so a plain counter is safe without a lock.
"""

from __future__ import annotations

from types import TracebackType

from starlette.requests import Request

from evallock.server._errors import ApiError
from evallock.server._limits import decode_content, read_raw_body
from evallock.server._metrics import Metrics

__all__ = ["DecodeBudget", "Reservation", "read_within_budget"]

_RETRY_AFTER_S = "1"


class DecodeBudget:
    """A pool of ``limit`` body bytes shared by every request that decodes a body.

    >>> budget = DecodeBudget(100)
    >>> with budget.reserve() as held:
    ...     held.take(80)
    ...     budget.in_use
    80
    >>> budget.in_use
    0
    """

    def __init__(self, limit: int, *, metrics: Metrics | None = None) -> None:
        """A budget of ``limit`` bytes; refusals are counted in ``metrics.decode_busy``."""
        self.limit = limit
        self.in_use = 0
        self.metrics = metrics

    def reserve(self) -> Reservation:
        """An empty reservation; use it as a context manager so it is always given back."""
        return Reservation(self)


class Reservation:
    """The bytes one request holds of a :class:`DecodeBudget`."""

    def __init__(self, budget: DecodeBudget) -> None:
        """Hold nothing yet."""
        self._budget = budget
        self.held = 0

    def take(self, size: int) -> None:
        """Hold ``size`` more bytes.

        Raises:
            ApiError: 429 with ``Retry-After`` when other requests hold too much for
                these bytes to fit now.
        """
        if size <= 0:
            return
        budget = self._budget
        alone = budget.in_use == self.held
        if not alone and budget.in_use + size > budget.limit:
            if budget.metrics is not None:
                budget.metrics.decode_busy += 1
            raise ApiError(
                429,
                f"busy: other requests are decoding {budget.in_use - self.held:,} body bytes "
                f"(the budget is {budget.limit:,}); retry shortly",
                headers={"Retry-After": _RETRY_AFTER_S},
            )
        budget.in_use += size
        self.held += size

    def hold_at_least(self, size: int) -> None:
        """Hold ``size`` bytes in all, taking only what is not held yet (see :meth:`take`)."""
        self.take(size - self.held)

    def release(self) -> None:
        """Give back everything held."""
        self._budget.in_use -= self.held
        self.held = 0

    def __enter__(self) -> Reservation:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()


async def read_within_budget(request: Request, held: Reservation, *, limit: int) -> bytes:
    """The body with its ``Content-Encoding`` undone, its bytes held in ``held``.

    The declared length is taken before a byte is read, the body as read (a
    chunked one has no declared length) and its decompressed copy as they come.

    Raises:
        ApiError: 429 past the decode budget; 413, 415 or 400 as ``read_body``.
    """
    declared = request.headers.get("content-length", "").strip()
    if declared.isdigit():
        held.take(min(int(declared), limit))
    raw = await read_raw_body(request, limit=limit)
    held.hold_at_least(len(raw))
    body = decode_content(raw, request.headers.get("content-encoding"), limit=limit)
    if body is not raw:
        held.take(len(body))
    return body
