"""Services the business sells: list, create, edit, delete, switch on and off."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints, model_validator
from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError

from hablo.api.endpoints import ApiRoutes, Call, Page, PageQuery, RequestModel
from hablo.api.problems import ApiError, conflict, not_found
from hablo.api.scope import TenantScope, check_if_match, contains, etag_of, sort_order
from hablo.db.models import Booking, Service, Tenant
from hablo.tenancy.money import MajorAmount, major_to_minor

routes = ApiRoutes("services")


class ServiceOut(BaseModel):
    id: uuid.UUID
    name: str
    description: str
    price_minor: int = Field(description="Price in minor units (cents) of the tenant's currency")
    duration_minutes: int
    active: bool
    synonyms: list[str]
    names: dict[str, str] = Field(
        description='The name in other languages, e.g. {"en": "Haircut"}: replies in that '
        "language use it"
    )
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, s: Service) -> ServiceOut:
        return cls(
            id=s.id,
            name=s.name,
            description=s.description,
            price_minor=s.price_minor,
            duration_minutes=s.duration_minutes,
            active=s.active,
            synonyms=[str(x) for x in s.synonyms],
            names={str(k): str(v) for k, v in (s.names or {}).items()},
            created_at=s.created_at,
            updated_at=s.updated_at,
        )


class ServiceQuery(PageQuery):
    active: bool | None = None
    q: str | None = Field(default=None, max_length=120, description="Part of the name")
    sort: Literal["name", "-name", "price", "-price", "created_at", "-created_at"] = "name"


# services.price_minor is a 32-bit integer column: 2e9 cents is 20 million in any currency.
MAX_PRICE_MINOR = 2_000_000_000


# Other names customers use for a service; every one is matched against every message.
MAX_SYNONYMS = 20
Synonym = Annotated[str, StringConstraints(min_length=1, max_length=60)]


# A language code ("en", "pt") and the service's name in it.
LanguageCode = Annotated[str, StringConstraints(pattern=r"^[a-z]{2}$")]
ServiceName = Annotated[str, StringConstraints(min_length=1, max_length=120)]
MAX_NAMES = 10


PRICE_HELP = (
    'Price in the currency\'s major units as people write it ("12.50", 800): '
    "an alternative to price_minor"
)


class _PriceEither(RequestModel):
    """`price` (major units) or `price_minor`, never both."""

    price: MajorAmount | None = Field(default=None, description=PRICE_HELP)

    def _one_price(self, required: bool) -> None:
        given = [n for n in ("price", "price_minor") if getattr(self, n) is not None]
        if len(given) == 2:
            raise ValueError("give either price (major units) or price_minor, not both")
        if required and not given:
            raise ValueError('give price (major units, e.g. "12.50") or price_minor')

    def minor_price(self, currency: str) -> int | None:
        """price_minor as sent, or price converted with the currency's minor digits."""
        if self.price is None:
            return getattr(self, "price_minor", None)
        try:
            return major_to_minor(self.price, currency)
        except ValueError as exc:
            raise ApiError(
                422,
                "validation_error",
                "the request body is not valid",
                [{"loc": ["body", "price"], "msg": str(exc), "type": "value_error"}],
            ) from exc


class ServiceIn(_PriceEither):
    name: str = Field(min_length=1, max_length=120)
    description: str = Field(default="", max_length=1000)
    price_minor: int | None = Field(
        default=None, ge=0, le=MAX_PRICE_MINOR, description="Price in minor units (cents)"
    )
    duration_minutes: int = Field(gt=0, le=24 * 60)
    active: bool = True
    synonyms: list[Synonym] = Field(default_factory=list, max_length=MAX_SYNONYMS)
    names: dict[LanguageCode, ServiceName] = Field(default_factory=dict, max_length=MAX_NAMES)

    @model_validator(mode="after")
    def _price_given_once(self) -> ServiceIn:
        self._one_price(required=True)
        return self


class ServicePatch(_PriceEither):
    name: str | None = Field(default=None, min_length=1, max_length=120)
    description: str | None = Field(default=None, max_length=1000)
    price_minor: int | None = Field(default=None, ge=0, le=MAX_PRICE_MINOR)
    duration_minutes: int | None = Field(default=None, gt=0, le=24 * 60)
    synonyms: list[Synonym] | None = Field(default=None, max_length=MAX_SYNONYMS)
    names: dict[LanguageCode, ServiceName] | None = Field(default=None, max_length=MAX_NAMES)

    @model_validator(mode="after")
    def _price_given_once(self) -> ServicePatch:
        self._one_price(required=False)
        return self


class ServiceStatusIn(RequestModel):
    active: bool


_SORTS = {
    "name": Service.name,
    "price": Service.price_minor,
    "created_at": Service.created_at,
}


@routes.get(
    "/api/services",
    "services:read",
    query=ServiceQuery,
    response=Page[ServiceOut],
    summary="List services",
)
async def list_services(call: Call[ServiceQuery, None]) -> Page[ServiceOut]:
    q = call.query

    def work(scope: TenantScope) -> Page[ServiceOut]:
        query = scope.select(Service)
        if q.active is not None:
            query = query.where(Service.active == q.active)
        if q.q:
            query = query.where(contains(Service.name, q.q))
        order = sort_order(q.sort, _SORTS)
        total = scope.count(query)
        rows = scope.session.scalars(
            query.order_by(order, Service.id).offset(q.offset).limit(q.per_page)
        )
        return Page(
            items=[ServiceOut.of(s) for s in rows], page=q.page, per_page=q.per_page, total=total
        )

    return await call.db(work)


@routes.get(
    "/api/services/{service_id}", "services:read", response=ServiceOut, summary="Get a service"
)
async def get_service(call: Call[None, None]) -> ServiceOut:
    def work(scope: TenantScope) -> ServiceOut:
        service = scope.get(Service, call.path["service_id"], what="service")
        call.response_headers["ETag"] = etag_of(service)
        return ServiceOut.of(service)

    return await call.db(work)


@routes.post(
    "/api/services",
    "services:write",
    body=ServiceIn,
    response=ServiceOut,
    status=201,
    errors=(409,),
    summary="Create a service",
)
async def create_service(call: Call[None, ServiceIn]) -> ServiceOut:
    data = call.body

    def work(scope: TenantScope) -> ServiceOut:
        _refuse_duplicate_name(scope, data.name, None)
        values = data.model_dump(exclude={"price"})
        values["price_minor"] = data.minor_price(_currency(scope))
        service = scope.add(Service(**values))
        _flush_unique(scope, data.name)
        scope.audit("create", "service", service.id, values)
        call.response_headers["ETag"] = etag_of(service)
        return ServiceOut.of(service)

    result = await call.db(work)
    call.tenant_changed()  # prices and names the bot quotes
    return result


@routes.put(
    "/api/services/{service_id}",
    "services:write",
    body=ServicePatch,
    response=ServiceOut,
    errors=(409, 412),
    summary="Edit a service (only the fields sent)",
)
async def update_service(call: Call[None, ServicePatch]) -> ServiceOut:
    changes = call.body.model_dump(exclude_unset=True, exclude_none=True, exclude={"price"})

    def work(scope: TenantScope) -> ServiceOut:
        service = scope.get(Service, call.path["service_id"], what="service", for_update=True)
        check_if_match(call.if_match(), service)
        if call.body.price is not None:
            changes["price_minor"] = call.body.minor_price(_currency(scope))
        if "name" in changes:
            _refuse_duplicate_name(scope, changes["name"], service.id)
        for key, value in changes.items():
            setattr(service, key, value)
        _flush_unique(scope, service.name)
        scope.audit("update", "service", service.id, changes)
        call.response_headers["ETag"] = etag_of(service)
        return ServiceOut.of(service)

    result = await call.db(work)
    call.tenant_changed()  # prices and names the bot quotes
    return result


@routes.put(
    "/api/services/{service_id}/status",
    "services:write",
    body=ServiceStatusIn,
    response=ServiceOut,
    errors=(412,),
    summary="Activate or deactivate a service",
)
async def set_service_status(call: Call[None, ServiceStatusIn]) -> ServiceOut:
    def work(scope: TenantScope) -> ServiceOut:
        service = scope.get(Service, call.path["service_id"], what="service", for_update=True)
        check_if_match(call.if_match(), service)
        service.active = call.body.active
        scope.session.flush()
        scope.audit("update", "service", service.id, {"active": call.body.active})
        call.response_headers["ETag"] = etag_of(service)
        return ServiceOut.of(service)

    result = await call.db(work)
    call.tenant_changed()  # prices and names the bot quotes
    return result


@routes.delete(
    "/api/services/{service_id}",
    "services:write",
    errors=(409, 412),
    summary="Delete a service that was never booked (deactivate it otherwise)",
)
async def delete_service(call: Call[None, None]) -> None:
    def work(scope: TenantScope) -> None:
        service = scope.get(Service, call.path["service_id"], what="service", for_update=True)
        check_if_match(call.if_match(), service)
        booked = scope.session.scalar(
            select(
                exists().where(
                    Booking.service_id == service.id, Booking.tenant_id == scope.tenant_id
                )
            )
        )
        if booked:
            raise conflict(
                "this service has bookings; deactivate it instead of deleting it",
                {"hint": 'PUT /api/services/{id}/status with {"active": false}'},
            )
        scope.session.delete(service)
        scope.audit("delete", "service", service.id, {"name": service.name})

    await call.db(work)
    call.tenant_changed()


def _currency(scope: TenantScope) -> str:
    tenant = scope.session.get(Tenant, scope.tenant_id)
    if tenant is None:
        raise not_found("tenant")
    return tenant.currency


def _refuse_duplicate_name(scope: TenantScope, name: str, own_id: uuid.UUID | None) -> None:
    query = scope.select(Service).where(Service.name == name)
    if own_id is not None:
        query = query.where(Service.id != own_id)
    if scope.session.scalars(query).first() is not None:
        raise conflict(f"a service named {name!r} already exists", {"field": "name"})


def _flush_unique(scope: TenantScope, name: str) -> None:
    """A concurrent writer may win the unique name between our check and our write."""
    try:
        with scope.session.begin_nested():
            scope.session.flush()
    except IntegrityError as exc:
        raise conflict(f"a service named {name!r} already exists", {"field": "name"}) from exc
