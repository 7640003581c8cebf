"""The OpenAPI 3.1 document, generated from the same declarations and pydantic models that
validate requests, and an offline docs page that renders it (no CDN, no scripts from
elsewhere: the page is plain HTML + a small inline script)."""

from __future__ import annotations

from importlib import resources
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from hablo.api.endpoints import Endpoint, path_pattern
from hablo.api.permissions import PERMISSIONS

REF = "#/components/schemas/{model}"
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "details": {},
            },
        }
    },
}
ERROR_TEXT = {
    400: "Malformed request",
    401: "Missing, invalid or expired access token",
    403: "Your role may not do this",
    404: "Not found (or not yours)",
    409: "Conflicts with the current state",
    412: "The record changed since you read it (If-Match)",
    413: "Request body too large",
    414: "URL too long",
    415: "Unsupported body media type",
    422: "Validation failed",
    423: "Account locked",
    429: "Too many requests",
    503: "A dependency is unavailable",
}


def build_document(
    endpoints: list[Endpoint], *, version: str, server_url: str | None = None
) -> dict[str, Any]:
    pairs = _model_modes(endpoints)
    refs, defs = models_json_schema(pairs, ref_template=REF)
    schemas: dict[str, Any] = dict(defs.get("$defs", {}))
    schemas["Error"] = ERROR_SCHEMA
    paths: dict[str, dict[str, Any]] = {}
    for endpoint in endpoints:
        paths.setdefault(endpoint.path, {})[endpoint.method.lower()] = _operation(endpoint, refs)
    doc: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "hablo management API",
            "version": version,
            "description": (
                "Operations for admins, owners and agents of a hablo tenant. Authenticate "
                "with `POST /api/auth/login`, then send `Authorization: Bearer <token>`. "
                'Every error has the shape `{"error": {"code", "message", "details"}}`.'
            ),
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
        },
        "tags": sorted(({"name": e.tag} for e in endpoints), key=lambda t: t["name"]),
    }
    # Tags must be unique objects.
    doc["tags"] = [dict(t) for t in {t["name"]: t for t in doc["tags"]}.values()]
    if server_url:
        doc["servers"] = [{"url": server_url}]
    return doc


Refs = dict[tuple[Any, JsonSchemaMode], Any]


def _model_modes(endpoints: list[Endpoint]) -> list[tuple[type[BaseModel], JsonSchemaMode]]:
    """Inputs are described as validated, outputs as serialized (they can differ)."""
    seen: dict[tuple[type[BaseModel], JsonSchemaMode], None] = {}
    for e in endpoints:
        for model in (e.query, e.body):
            if model is not None:
                seen[(model, "validation")] = None
        if e.response is not None:
            seen[(e.response, "serialization")] = None
    return list(seen)


def _operation(endpoint: Endpoint, refs: Refs) -> dict[str, Any]:
    op: dict[str, Any] = {
        "operationId": endpoint.operation_id,
        "summary": endpoint.summary,
        "tags": [endpoint.tag],
        "parameters": _parameters(endpoint),
    }
    if endpoint.description:
        op["description"] = endpoint.description
    if endpoint.permission is not None:
        roles = sorted(r.value for r in PERMISSIONS[endpoint.permission])
        op["security"] = [{"bearerAuth": []}]
        op["x-permission"] = endpoint.permission
        op["description"] = (op.get("description", "") + f"\n\nRoles: {', '.join(roles)}.").strip()
    else:
        op["security"] = []
    if endpoint.body is not None:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": refs[(endpoint.body, "validation")]}},
        }
    elif endpoint.consumes:
        op["requestBody"] = {
            "required": True,
            "content": {endpoint.consumes: {"schema": {"type": "string"}}},
        }
    op["responses"] = _responses(endpoint, refs)
    return op


def _parameters(endpoint: Endpoint) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = []
    for name in endpoint.path_params:
        kind = endpoint.path_types.get(name)
        schema = {"type": "string", "format": "uuid"} if kind is None else {"type": "string"}
        if path_pattern(kind):
            schema["pattern"] = f"^{path_pattern(kind)}$"
        params.append({"name": name, "in": "path", "required": True, "schema": schema})
    if endpoint.query is not None:
        query_schema = endpoint.query.model_json_schema(ref_template=REF)
        required = set(query_schema.get("required", []))
        for name, prop in query_schema.get("properties", {}).items():
            prop = dict(prop)
            description = prop.pop("description", None)
            param: dict[str, Any] = {
                "name": name,
                "in": "query",
                "required": name in required,
                "schema": prop,
            }
            if description:
                param["description"] = description
            if prop.get("type") == "array":
                param["style"] = "form"
                param["explode"] = True
            params.append(param)
    if 412 in endpoint.errors:
        params.append(
            {
                "name": "If-Match",
                "in": "header",
                "required": False,
                "schema": {"type": "string"},
                "description": "ETag of your copy; refused with 412 if the record changed since.",
            }
        )
    return params


def _responses(endpoint: Endpoint, refs: Refs) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    if endpoint.produces:
        responses[str(endpoint.status)] = {
            "description": "OK",
            "content": {endpoint.produces: {"schema": {"type": "string"}}},
        }
    elif endpoint.response is not None:
        responses[str(endpoint.status)] = {
            "description": "OK",
            "content": {"application/json": {"schema": refs[(endpoint.response, "serialization")]}},
        }
    else:
        responses["204"] = {"description": "Done"}
    codes = set(endpoint.errors) | {429}
    if endpoint.permission is not None:
        codes |= {401, 403}
    if endpoint.path_params:
        codes.add(404)
    if endpoint.query is not None or endpoint.body is not None:
        codes.add(422)
    if endpoint.body is not None or endpoint.consumes:
        codes |= {400, 413, 415}
    if not endpoint.query:
        codes.add(422)  # unknown query parameters are refused too
    else:
        codes.add(414)  # a query string can make the URL too long
    for code in sorted(codes):
        responses[str(code)] = {
            "description": ERROR_TEXT.get(code, "Error"),
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
    return responses


def docs_page() -> str:
    return resources.files("hablo.api").joinpath("static/docs.html").read_text(encoding="utf-8")
