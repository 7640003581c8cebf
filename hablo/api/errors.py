"""One error shape for every HTTP error: {"error": {"code", "message", "details"}}."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from hablo.api.problems import ApiError

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def json_error(status: int, code: str, message: str, details: Any = None) -> web.Response:
    return web.json_response(error_body(code, message, details), status=status)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as exc:
        response = json_error(exc.status, exc.code, exc.message, exc.details)
        response.headers.update(exc.headers)
        return response
    except ValidationError as exc:
        return json_error(
            422, "validation_error", "the request is not valid", validation_details(exc)
        )
    except web.HTTPException as exc:
        if exc.content_type == "application/json" or exc.status < 400:
            raise
        code = exc.reason.lower().replace(" ", "_")
        response = json_error(exc.status, code, exc.text or exc.reason)
        if "Allow" in exc.headers:  # 405 must say which methods exist (RFC 9110)
            response.headers["Allow"] = exc.headers["Allow"]
        return response
    except json.JSONDecodeError as exc:
        return json_error(400, "invalid_json", f"request body is not valid JSON: {exc.msg}")
    except Exception:
        log.exception("unhandled error in %s %s", request.method, request.path)
        return json_error(500, "internal_error", "something went wrong on our side")


def validation_details(exc: ValidationError) -> list[dict[str, Any]]:
    """Where and why, never the rejected value (it may be a password)."""
    return [
        {"loc": [str(p) for p in err["loc"]], "msg": err["msg"], "type": err["type"]}
        for err in exc.errors(include_url=False, include_input=False, include_context=False)
    ]
