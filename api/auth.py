"""Sign-in and the signed-in user: bearer tokens, roles, and the role checks of each route.

A token is looked up in the database on every request, so signing out (or a changed
password) takes effect in every process of the service at once. Any other scheme in
``Authorization`` is refused with 401 rather than read as anonymous. Passwords are hashed on
a bounded pool of their own (:class:`api.pool.BoundedPool`), never on the request pool.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.schemas import AnswerRoute, Credentials, Me, Token
from api.state import AppState
from gridmap.accounts import PUBLIC, User, sign_in, sign_out, user_for_token
from gridmap.errors import AccessError, AuthError, NotFoundError
from gridmap.scope import GRID_STAFF, allowed_roles, layer_readers

router = APIRouter(prefix="/auth", tags=["sign-in"], route_class=AnswerRoute)
_bearer = HTTPBearer(auto_error=False, description="the token from POST /auth/token")


async def state(request: Request) -> AppState:
    return request.app.state.gridmap


def token_of(header: str | None) -> str | None:
    """The bearer token of a request's ``Authorization`` header (None: none given);
    AuthError for any other scheme or a malformed header."""
    if header is None:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        raise AuthError(
            f"the Authorization scheme '{scheme[:20]}' is not supported; send 'Bearer TOKEN' "
            "with the token from POST /auth/token"
        )
    value = value.strip()
    if not value or len(value) > 200:
        raise AuthError("the bearer token is malformed; sign in again")
    return value


async def current_user(
    request: Request, _: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> User:
    """The user of the bearer token; the public when there is none (a bad token is refused)."""
    token = token_of(request.headers.get("authorization"))
    if token is None:
        return PUBLIC
    app: AppState = request.app.state.gridmap
    return await run_in_threadpool(user_for_token, app.engine, token)


async def bearer_token(
    request: Request, _: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> str | None:
    """The bearer token, not yet looked up (None: the public; a malformed header is refused),
    for a route that looks it up on the worker thread it reads the database on anyway (tiles
    and Open311 filings: :func:`gridmap.accounts.user_and_versions`)."""
    return token_of(request.headers.get("authorization"))


CurrentUser = Annotated[User, Depends(current_user)]
BearerToken = Annotated[str | None, Depends(bearer_token)]
State = Annotated[AppState, Depends(state)]


def require(user: User, action: str, *, what: str) -> None:
    """AccessError unless ``user``'s role may do ``action`` (a key of the access table,
    :data:`gridmap.scope.ACCESS`); AuthError, 401, when nobody is signed in: signing in may help."""
    require_role(user, allowed_roles(action), what=what)


def require_layer(user: User, layer: str) -> None:
    """AccessError (AuthError when nobody is signed in) unless ``user`` reads the stored ``layer``."""
    require_role(user, layer_readers(layer), what=f"collection '{layer}'")


def require_role(user: User, roles: tuple[str, ...], *, what: str) -> None:
    """AccessError unless ``user`` has one of ``roles`` (AuthError when nobody is signed in)."""
    if user.role not in roles:
        allowed = " or ".join(roles)
        if user is PUBLIC:  # not signed in
            raise AuthError(f"{what} needs a sign-in with the role {allowed}")
        raise AccessError(f"{what} needs the role {allowed}; you are signed in as {user.role}")


NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


@router.post("/token", response_model=Token, summary="sign in: a bearer token for the name and password")
async def token(body: Credentials, request: Request, response: Response, app: State) -> Token:
    response.headers.update(NO_STORE)
    address = request.client.host if request.client else None
    value, user = await app.sign_ins.run(
        sign_in, app.engine, body.name, body.password, address=address, policy=app.sign_in_policy
    )
    return Token(
        access_token=value, token_type="bearer", name=user.name, role=user.role, grids=list(user.grid_codes)
    )


@router.get("/me", response_model=Me, summary="the signed-in user")
def me(user: CurrentUser, response: Response) -> Me:
    response.headers.update(NO_STORE)
    return Me(name=user.name, role=user.role, grids=list(user.grid_codes), area=user.area_code,
              communities=list(user.community_ids))  # fmt: skip


@router.post("/sign-out", status_code=204, summary="forget the bearer token")
def sign_out_route(request: Request, app: State) -> Response:
    token = token_of(request.headers.get("authorization"))
    if token is not None:
        sign_out(app.engine, token)
    return Response(status_code=204)


def require_in_area(app: AppState, user: User, layer: str, feature_id: int, absent: str) -> None:
    """NotFoundError (saying ``absent``) when the area of a user who works within one does
    not hold the feature: outside grid staff's grids it is as if it did not exist (its
    existence is not told); street and community admins, who read the whole district, are
    told it lies outside their area (AccessError)."""
    if not user.has_area:
        return
    area = app.layers.area(user)
    if area is not None and area.holds(layer, feature_id):
        return
    if user.role in GRID_STAFF:
        raise NotFoundError(absent)
    raise AccessError(f"{layer} {feature_id} lies outside {area.label if area else 'your area'}")
