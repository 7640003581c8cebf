"""The composer's file upload: an image or a document for the customer, sent by the
API's own operation (its checks, its limits, its errors) on the same request."""

from __future__ import annotations

from aiohttp import web

from hablo.api.routes import message_media
from hablo.console.api_calls import call_api
from hablo.console.guard import require_csrf
from hablo.console.inbox_pages import after_action, conversation_id_of, staff_user
from hablo.console.session import CSRF_FIELD, CSRF_HEADER

routes = web.RouteTableDef()


@routes.post("/app/conversations/{conversation_id}/media")
async def send_file(request: web.Request) -> web.StreamResponse:
    principal = await staff_user(request)
    conversation_id = conversation_id_of(request)
    if request.headers.get(CSRF_HEADER):
        require_csrf(request, None)  # htmx sends its token as a header: checked before reading
    _data, _name, fields = await message_media.read_upload(request)
    require_csrf(request, fields.get(CSRF_FIELD))
    await call_api(
        request,
        message_media.send_media,
        principal,
        path={"conversation_id": conversation_id},
    )
    return await after_action(request, principal, conversation_id)
