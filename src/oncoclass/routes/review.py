"""``/review``: the curation queue over HTTP, for the page and for scripts. Each route parses the
request, calls one function of :mod:`oncoclass.review.queue` and returns its data; errors are the
library's (401 no token, 403 a curator on an admin route, 404 no such item, 409 a stale version)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, Field

from oncoclass.review import queue
from oncoclass.routes.deps import AdminUser, BundleDep, CurrentUser, StoreDep
from oncoclass.service import ErrorOut, RequestModel, VariantIn

router = APIRouter(prefix="/review", tags=["review"])


class ItemsIn(RequestModel):
    items: list[VariantIn] = Field(min_length=1, description="Statements in the /predict shape.")


class ChangesIn(RequestModel):
    gene: str | None = Field(default=None, max_length=100)
    variation: str | None = Field(default=None, max_length=300)
    text: str | None = None
    disease: str | None = Field(default=None, max_length=1000)
    drugs: str | None = Field(default=None, max_length=1000)


class DecisionIn(RequestModel):
    action: queue.Action
    version: int = Field(ge=1, le=2**31 - 1, description="The item's version the decision was made on.")
    label: str = Field(default="", max_length=200, description="The right label (correct only).")
    comment: str = Field(default="", max_length=10_000)
    changes: ChangesIn | None = Field(default=None, description="Other fields corrected (correct only).")


class ConflictOut(ErrorOut):
    current: queue.ItemView = Field(description="The item as it now is: decide again on its version.")


class SettingsIO(RequestModel):
    order: queue.Order = Field(
        description="How the next item is picked: least confident first, closest call first, oldest "
        "first, or by gene."
    )


class MeOut(BaseModel):
    name: str
    role: str


#: An item's ID as the database stores it (a 32-bit integer on PostgreSQL).
ItemId = Annotated[int, Path(ge=1, le=2**31 - 1)]

_AUTH = {401: {"model": ErrorOut, "description": "No token, or a wrong or revoked one."}}
_ADMIN = {**_AUTH, 403: {"model": ErrorOut, "description": "A curator's token on an admin route."}}
_ITEM = {**_AUTH, 404: {"model": ErrorOut, "description": "No such item."}}


@router.get("/me", response_model=MeOut, responses=_AUTH)
def me(user: CurrentUser) -> Any:
    """Who the token belongs to (the page signs in with it)."""
    return {"name": user.name, "role": user.role}


@router.post(
    "/items",
    response_model=queue.QueueResult,
    responses={
        **_ADMIN,
        413: {"model": ErrorOut, "description": "More items than --max-batch, or a text over the limit."},
    },
)
def add_items(body: ItemsIn, user: AdminUser, store: StoreDep, bundle: BundleDep, request: Request) -> Any:
    """Queue statements with the served model's proposal (admins only); one already queued is not
    queued again. The service's bounds apply as to /predict/batch: at most --max-batch items, each
    text within the text limit."""
    request.app.state.settings.check_request(
        body.items, what="items in one request", hint="Split them, or use `oncoclass review add` for files."
    )
    return queue.queue_records(store, bundle, [v.model_dump() for v in body.items], added_by=user.name)


@router.get(
    "/next",
    response_model=queue.ItemView,
    responses={**_AUTH, 204: {"description": "Nothing left for this curator."}},
)
def next_item(
    user: CurrentUser,
    store: StoreDep,
    bundle: BundleDep,
    order: Annotated[queue.Order | None, Query(description="Default: the order an admin chose.")] = None,
) -> Any:
    """The next open item for this curator, with the proposal, its explanation and the evidence."""
    view = queue.next_item(store, user, order=order)
    if view is None:
        return Response(status_code=204)
    return queue.explained(store, bundle, view)


@router.get("/items/{item_id}", response_model=queue.ItemView, responses=_ITEM)
def get_item(item_id: ItemId, user: CurrentUser, store: StoreDep, bundle: BundleDep) -> Any:
    return queue.explained(store, bundle, queue.get_item(store, item_id))


@router.post(
    "/items/{item_id}/decision",
    response_model=queue.ItemView,
    responses={**_ITEM, 409: {"model": ConflictOut, "description": "The version is stale."}},
)
def decide(item_id: ItemId, body: DecisionIn, user: CurrentUser, store: StoreDep) -> Any:
    """Accept the proposal, correct the label (and other fields), skip, or comment; the item's new
    state comes back. A stale ``version`` is refused with 409 and the item as it now is."""
    changes = {k: v for k, v in (body.changes.model_dump() if body.changes else {}).items() if v is not None}
    view = queue.decide(
        store, item_id, user, action=body.action, version=body.version, label=body.label,
        comment=body.comment, changes=changes,
    )  # fmt: skip
    return view


@router.get("/items/{item_id}/history", response_model=list[queue.DecisionView], responses=_ITEM)
def history(item_id: ItemId, user: CurrentUser, store: StoreDep) -> Any:
    """Every decision on the item, oldest first."""
    return queue.history(store, item_id)


@router.get("/settings", response_model=SettingsIO, responses=_AUTH)
def get_settings(user: CurrentUser, store: StoreDep) -> Any:
    """The team's queue settings."""
    return {"order": queue.team_order(store)}


@router.put("/settings", response_model=SettingsIO, responses=_ADMIN)
def put_settings(body: SettingsIO, user: AdminUser, store: StoreDep) -> Any:
    """Choose the team's queue order (admins only)."""
    return {"order": queue.set_team_order(store, body.order)}


@router.get("/stats", response_model=queue.ReviewStats, responses=_AUTH)
def stats(user: CurrentUser, store: StoreDep) -> Any:
    """Pending and reviewed counts, agreement of model and curators by day, decisions per curator."""
    return queue.review_stats(store)
