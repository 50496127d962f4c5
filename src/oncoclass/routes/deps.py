"""Dependencies the routers declare: the open store, the bundle, and the signed-in user. Declared as
dependencies (not read in each route) so that the bearer-token security scheme shows on every
route that needs it in the OpenAPI schema, and each rule is written once."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from oncoclass.errors import AuthError, NotFound
from oncoclass.kb.store import Store
from oncoclass.review.users import Curator, authenticate

# auto_error=False: a missing or non-Bearer header is refused by AuthError below, in the service's
# one error shape, rather than by FastAPI's own 403.
bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ReviewToken",
    description="A curator's or admin's token, from `oncoclass users add NAME --role …`.",
)


def get_store(request: Request) -> Store:
    store = request.app.state.store
    if store is None:
        raise NotFound("this server has no evidence store.", hint="Start it with `oncoclass serve --kb …`.")
    return store


def get_bundle(request: Request) -> Any:
    return request.app.state.bundle


StoreDep = Annotated[Store, Depends(get_store)]
BundleDep = Annotated[Any, Depends(get_bundle)]


def current_user(
    store: StoreDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Curator:
    if credentials is None:
        raise AuthError("this route needs a token.", hint="Send `Authorization: Bearer TOKEN`.")
    return authenticate(store, credentials.credentials)


CurrentUser = Annotated[Curator, Depends(current_user)]


def admin_user(user: CurrentUser) -> Curator:
    user.require_admin()
    return user


AdminUser = Annotated[Curator, Depends(admin_user)]
