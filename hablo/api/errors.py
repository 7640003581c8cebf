"""The API's error middleware: every failure answers the one error shape of
`hablo.web.errors` (re-exported here for the API's modules)."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from hablo.api.problems import ApiError
from hablo.web.errors import error_body, json_error

__all__ = ["error_body", "error_middleware", "json_error", "validation_details"]

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


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
