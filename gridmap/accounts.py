"""Accounts of the service: users with a role, hashed passwords, and bearer tokens.

Passwords are kept as scrypt hashes (``scrypt$n$r$p$salt$hash``, hex); tokens are random
strings handed out once at sign-in and stored only as their SHA-256, checked against the
database on every use, so a token signed out in one process is refused by all at once. A
grid leader's account names the grids (by code) it may read.

Sign-in resists guessing (:class:`SignInPolicy`): wrong passwords are counted per account
name and per client address in ``sign_in_failures``; after ``max_failures`` in a row an
account name is refused for ``lock_minutes``, even with the right password, until then or
until an admin unlocks it (``gridmap user unlock NAME``). Unknown names are counted and
locked the same way, and a wrong password costs one scrypt hash whether or not the account
exists, so neither answers nor timings tell which names exist.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass

from sqlalchemy import Engine, case, delete, insert, select, update

from gridmap.errors import AuthError, InputError, Problem, SignInLockedError, ThrottledError
from gridmap.model import UserRole
from gridmap.settings import Settings
from gridmap.store.engine import write_transaction
from gridmap.store.layers import insert_if_missing
from gridmap.store.tables import LAYER_TABLES, api_tokens, sign_in_failures, users

_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
TOKEN_HOURS = 12.0


@dataclass(frozen=True)
class SignInPolicy:
    """How many wrong passwords in a row lock an account name (for ``lock_minutes``) and
    how many, from one client address within ``lock_minutes``, refuse that address."""

    max_failures: int = 20
    lock_minutes: float = 15.0
    max_failures_per_address: int = 100

    @classmethod
    def from_settings(cls, settings: Settings) -> SignInPolicy:
        """The limits of an installation (``GRIDMAP_SIGN_IN_*``)."""
        return cls(
            settings.sign_in_max_failures,
            settings.sign_in_lock_minutes,
            settings.sign_in_max_failures_per_address,
        )


@dataclass(frozen=True)
class User:
    """A signed-in user: name, role and (grid leaders) the codes and ids of their grids."""

    name: str
    role: str
    grid_codes: tuple[str, ...] = ()
    grid_ids: tuple[int, ...] = ()

    @property
    def is_admin(self) -> bool:
        return self.role == UserRole.ADMIN


PUBLIC = User("public", UserRole.PUBLIC)


def hash_password(password: str) -> str:
    """A salted scrypt hash of ``password`` in one self-describing string."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, **_SCRYPT)
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches a hash made by :func:`hash_password` (constant time)."""
    try:
        kind, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if kind != "scrypt":
        return False
    got = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p))
    return hmac.compare_digest(got.hex(), digest)


#: checked instead when the account does not exist, so that both cost one scrypt hash
_DUMMY_HASH = "scrypt$16384$8$1$" + "00" * 16 + "$" + "00" * 64


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _grid_ids(engine: Engine, codes: tuple[str, ...]) -> tuple[int, ...]:
    grids = LAYER_TABLES["grids"]
    with engine.connect() as conn:
        rows = dict(conn.execute(select(grids.c.code, grids.c.id).where(grids.c.code.in_(codes))).all())
    unknown = [c for c in codes if c not in rows]
    if unknown:
        raise InputError(f"no grid has the code(s) {', '.join(unknown)}")
    return tuple(int(rows[c]) for c in codes)


def add_user(engine: Engine, name: str, role: str, password: str, grids: list[str] | None = None) -> User:
    """Create an account; a grid leader needs at least one grid code, other roles none."""
    name = name.strip()
    problems = []
    if not name:
        problems.append("the user name is empty")
    if role not in tuple(UserRole):
        problems.append(f"role was '{role}' but is expected to be one of {', '.join(UserRole)}")
    if len(password) < 8:
        problems.append("the password is shorter than 8 characters")
    codes = tuple(dict.fromkeys(c.strip() for c in (grids or []) if c.strip()))
    if role == UserRole.GRID_LEADER and not codes:
        problems.append("a grid leader needs --grid CODE (the grids the account may read)")
    if role != UserRole.GRID_LEADER and codes:
        problems.append(f"only grid leaders have grids; role '{role}' reads by its role")
    if problems:
        raise InputError([Problem(p) for p in problems])
    ids = _grid_ids(engine, codes) if codes else ()
    with write_transaction(engine) as conn:
        exists = conn.execute(select(users.c.id).where(users.c.name == name)).first()
        if exists:
            raise InputError(f"a user named '{name}' exists already")
        conn.execute(
            insert(users).values(
                name=name,
                role=role,
                grids=",".join(codes) or None,
                password_hash=hash_password(password),
                created_at=_now(),
                active=True,
            )
        )
    return User(name, role, codes, ids)


def _user(engine: Engine, row) -> User:
    codes = tuple(c for c in (row.grids or "").split(",") if c)
    return User(row.name, row.role, codes, _grid_ids(engine, codes) if codes else ())


def sign_in(
    engine: Engine,
    name: str,
    password: str,
    *,
    address: str | None = None,
    policy: SignInPolicy | None = None,
    hours: float = TOKEN_HOURS,
) -> tuple[str, User]:
    """Check the password and hand out a new bearer token valid for ``hours``.

    Refused with :class:`SignInLockedError` while the name is locked and with
    :class:`ThrottledError` while ``address`` is; a wrong password counts against both."""
    policy = policy or SignInPolicy()
    keys = [f"account:{name}"] + ([f"address:{address}"] if address else [])
    _check_locks(engine, keys)
    with engine.connect() as conn:
        row = conn.execute(select(users).where(users.c.name == name, users.c.active)).first()
    right = check_password(password, row.password_hash if row is not None else _DUMMY_HASH)
    if row is None or not right:
        _count_failure(engine, keys, policy)
        raise AuthError("wrong user name or password")
    token = secrets.token_urlsafe(32)
    with write_transaction(engine) as conn:
        conn.execute(delete(sign_in_failures).where(sign_in_failures.c.key == keys[0]))
        conn.execute(delete(api_tokens).where(api_tokens.c.expires_at < _now()))
        conn.execute(
            insert(api_tokens).values(
                token_hash=_token_hash(token),
                user_id=row.id,
                created_at=_now(),
                expires_at=_now() + dt.timedelta(hours=hours),
            )
        )
    return token, _user(engine, row)


def _check_locks(engine: Engine, keys: list[str]) -> None:
    now = _now()
    with engine.connect() as conn:
        locks = conn.execute(
            select(sign_in_failures.c.key, sign_in_failures.c.locked_until).where(
                sign_in_failures.c.key.in_(keys), sign_in_failures.c.locked_until > now
            )
        ).all()
    for key, until in sorted(locks):
        wait = max(1, int((until - now).total_seconds()) + 1)
        if key.startswith("address:"):
            raise ThrottledError(
                "too many wrong passwords from your address; try again later", retry_after_s=wait
            )
        raise SignInLockedError(
            f"too many wrong passwords for this account name; it is locked for {math.ceil(wait / 60)} "
            "minute(s) or until an admin unlocks it",
            retry_after_s=wait,
        )


def _count_failure(engine: Engine, keys: list[str], policy: SignInPolicy) -> None:
    """One more wrong password against each key, locking those that reach their limit; a
    count older than the lock period starts again."""
    now = _now()
    window = dt.timedelta(minutes=policy.lock_minutes)
    table = sign_in_failures
    with write_transaction(engine) as conn:
        for key in keys:
            limit = policy.max_failures_per_address if key.startswith("address:") else policy.max_failures
            insert_if_missing(conn, table, key=key, failures=0, first_at=now)
            stale = table.c.first_at < now - window
            failures = conn.execute(
                update(table)
                .where(table.c.key == key)
                .values(
                    failures=case((stale, 1), else_=table.c.failures + 1),
                    first_at=case((stale, now), else_=table.c.first_at),
                )
                .returning(table.c.failures)
            ).scalar_one()
            if failures >= limit:
                conn.execute(
                    update(table).where(table.c.key == key).values(locked_until=now + window, failures=0)
                )


def unlock(engine: Engine, name: str) -> bool:
    """Lift the sign-in lock of an account name; whether it was locked."""
    with write_transaction(engine) as conn:
        done = conn.execute(delete(sign_in_failures).where(sign_in_failures.c.key == f"account:{name}"))
    return bool(done.rowcount)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def user_for_token(engine: Engine, token: str) -> User:
    """The user a bearer token belongs to; AuthError when unknown or expired."""
    query = (
        select(users, api_tokens.c.expires_at)
        .join(api_tokens, api_tokens.c.user_id == users.c.id)
        .where(api_tokens.c.token_hash == _token_hash(token), users.c.active)
    )
    with engine.connect() as conn:
        row = conn.execute(query).first()
    if row is None:
        raise AuthError("the bearer token is not known; sign in again")
    if row.expires_at < _now():
        raise AuthError("the bearer token has expired; sign in again")
    return _user(engine, row)


def sign_out(engine: Engine, token: str) -> None:
    """Forget a token."""
    with write_transaction(engine) as conn:
        conn.execute(delete(api_tokens).where(api_tokens.c.token_hash == _token_hash(token)))


def set_password(engine: Engine, name: str, password: str) -> None:
    """Replace a user's password and end their sessions."""
    if len(password) < 8:
        raise InputError("the password is shorter than 8 characters")
    with write_transaction(engine) as conn:
        row = conn.execute(select(users.c.id).where(users.c.name == name)).first()
        if row is None:
            raise InputError(f"no user is named '{name}'")
        conn.execute(update(users).where(users.c.id == row.id).values(password_hash=hash_password(password)))
        conn.execute(delete(api_tokens).where(api_tokens.c.user_id == row.id))


def list_users(engine: Engine) -> list[User]:
    """Every active account."""
    with engine.connect() as conn:
        rows = conn.execute(select(users).where(users.c.active).order_by(users.c.id)).all()
    return [User(r.name, r.role, tuple(c for c in (r.grids or "").split(",") if c)) for r in rows]
