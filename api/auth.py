"""Sign-in and the signed-in user: bearer tokens, roles, and the role checks of each route."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from api.state import AppState
from gridmap.accounts import PUBLIC, User, sign_in, sign_out, user_for_token
from gridmap.errors import AccessError
from gridmap.model import UserRole

router = APIRouter(prefix="/auth", tags=["sign-in"])
_bearer = HTTPBearer(auto_error=False, description="the token from POST /auth/token")


async def state(request: Request) -> AppState:
    return request.app.state.gridmap


SESSION_TTL_S = 5.0  # a token's user is looked up again after this long


async def current_user(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> User:
    """The user of the bearer token; the public when there is none (a bad token is refused).

    A token's user is kept for a few seconds; signing out here forgets it at once."""
    if credentials is None:
        return PUBLIC
    app: AppState = request.app.state.gridmap
    token = credentials.credentials
    held = app.sessions.get(token)
    if held is not None and time.monotonic() - held[0] < SESSION_TTL_S:
        return held[1]
    user = await run_in_threadpool(user_for_token, app.engine, token)
    app.sessions.put(token, (time.monotonic(), user))
    return user


CurrentUser = Annotated[User, Depends(current_user)]
State = Annotated[AppState, Depends(state)]


def require(user: User, *roles: str, what: str) -> None:
    """AccessError unless ``user`` has one of ``roles``."""
    if user.role not in roles:
        allowed = " or ".join(roles)
        raise AccessError(f"{what} needs the role {allowed}; you are signed in as {user.role}")


READERS = (UserRole.ADMIN, UserRole.PLANNER)


class Credentials(BaseModel):
    name: str
    password: str


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"
    name: str
    role: str
    grids: list[str]


@router.post("/token", response_model=Token, summary="sign in: a bearer token for the name and password")
def token(body: Credentials, app: State) -> Token:
    value, user = sign_in(app.engine, body.name, body.password)
    return Token(access_token=value, name=user.name, role=user.role, grids=list(user.grid_codes))


@router.get("/me", summary="the signed-in user")
def me(user: CurrentUser) -> dict:
    return {"name": user.name, "role": user.role, "grids": list(user.grid_codes)}


@router.post("/sign-out", status_code=204, summary="forget the bearer token")
def sign_out_route(
    app: State, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> None:
    if credentials is not None:
        sign_out(app.engine, credentials.credentials)
        app.sessions.put(credentials.credentials, (0.0, PUBLIC))
