"""The size of the animal said once its service is chosen ("ah, it's a golden retriever"
after "a full groom"): the service in that size, wherever the catalogue sells sizes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hablo.engine.nlu.sizes import resized_to
from hablo.plugins import SkillContext
from hablo.plugins.sdk import ServiceInfo
from hablo.skills.booking.slots import service_by_id


def resized(
    ctx: SkillContext, state: Mapping[str, Any], text: str, entities: Mapping[str, Any]
) -> ServiceInfo | None:
    """The service being booked in the size the message says (the one held when it is
    that size); None when it says no size, names a service itself (the NLU sized that
    one), or the service comes in no sizes."""
    if state.get("mode", "book") != "book" or isinstance(entities.get("service"), ServiceInfo):
        return None
    held = service_by_id(ctx, state.get("service_id"))
    if held is None:
        return None
    return resized_to(held, ctx.services(), text)
