"""One error shape for every HTTP error: {"error": {"code", "message", "details"}}."""

from __future__ import annotations

from typing import Any

from aiohttp import web


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def json_error(status: int, code: str, message: str, details: Any = None) -> web.Response:
    return web.json_response(error_body(code, message, details), status=status)
