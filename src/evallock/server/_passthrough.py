"""Pass-through beside the recording proxy: ``GET /v1/models[/{id}]``, ``POST /v1/embeddings``.

An app that points the ``openai`` SDK's ``base_url`` at evallock also lists models
and asks for embeddings through it. Those calls go to the upstream as they came
(the same header allow-list as the proxy, the evallock key never forwarded) and
come back as the upstream answered; they are not traces, so nothing is recorded.
Without ``--upstream`` they are 404, as the proxy is.
"""

from __future__ import annotations

import aiohttp
from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import Response

from evallock.server._auth import Caller, require
from evallock.server._errors import ApiError, json_response
from evallock.server._limits import read_raw_body
from evallock.server._state import server_state
from evallock.server._tags import upstream_headers

__all__ = ["router"]

router = APIRouter(tags=["proxy"])
_ANSWERS: dict[int | str, dict[str, object]] = {
    "default": {"description": "The upstream's answer (status, body), as it sent it."},
    502: {"description": "The upstream did not answer."},
}
_KEEP = frozenset({"content-type", "openai-model", "openai-processing-ms", "x-request-id"})


@router.get("/v1/models", summary="The upstream's model list, passed through", responses=_ANSWERS)
async def list_models(request: Request, caller: Caller = Depends(require("ingest"))) -> Response:
    """``GET /v1/models`` of the upstream."""
    return await _relay(request, caller, "models")


@router.get(
    "/v1/models/{model:path}",
    summary="One of the upstream's models, passed through",
    responses=_ANSWERS,
)
async def get_model(
    request: Request, model: str, caller: Caller = Depends(require("ingest"))
) -> Response:
    """``GET /v1/models/{model}`` of the upstream."""
    return await _relay(request, caller, f"models/{model}")


@router.post(
    "/v1/embeddings",
    summary="The upstream's embeddings, passed through (not recorded)",
    responses=_ANSWERS,
)
async def embeddings(request: Request, caller: Caller = Depends(require("ingest"))) -> Response:
    """``POST /v1/embeddings`` of the upstream."""
    return await _relay(request, caller, "embeddings")


async def _relay(request: Request, caller: Caller, path: str) -> Response:
    state = server_state(request)
    chat_url = state.settings.chat_url
    if state.upstream is None or chat_url is None:
        raise ApiError(404, "the recording proxy is off: start `evallock serve --upstream URL`")
    url = chat_url.removesuffix("chat/completions") + path
    body = (
        await read_raw_body(request, limit=state.settings.max_body_bytes)
        if request.method == "POST"
        else None
    )
    forward = upstream_headers(
        request.headers.items(),
        drop_authorization=caller.in_authorization,
        upstream_api_key=state.settings.upstream_api_key,
    )
    try:
        async with state.upstream.request(
            request.method, url, data=body, headers=forward, params=request.query_params
        ) as upstream:
            data = await upstream.read()
            headers = {k: v for k, v in upstream.headers.items() if k.lower() in _KEEP}
            return Response(data, status_code=upstream.status, headers=headers)
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        reason = f"{type(exc).__name__}: {exc}".rstrip(": ")
        return json_response(
            {
                "error": {
                    "message": f"evallock proxy: upstream {url} did not answer ({reason})",
                    "type": "upstream_error",
                    "param": None,
                    "code": "upstream_unreachable",
                }
            },
            status=502,
        )
