"""Accounts of the service: users with a role, hashed passwords, and bearer tokens.

Passwords are kept as scrypt hashes (``scrypt$n$r$p$salt$hash``, hex); tokens are random
strings handed out once at sign-in and stored only as their SHA-256, checked against the
database on every use, so a token signed out in one process is refused by all at once.

An account's area is found on every use, so rights end with the term that gave them: grid
leaders and workers have the grids named by the account (``--grid CODE``) or, when the account
is a person's (``--member ID`` or ``--person NAME --phone P``), the grids where that person
now holds that post; a community admin has the community named (``--area CODE``) or those
where the person now holds a post held for communities (residents' committee director, first
secretary …); a street admin has the street named, and its communities.

Sign-in resists guessing (:class:`SignInPolicy`): wrong passwords are counted per account
name and per client address in ``sign_in_failures``; after ``max_failures`` in a row an
account name is refused for ``lock_minutes``, even with the right password, until then or
until an admin unlocks it (``gridmap user unlock NAME``). Unknown names are counted and
locked the same way, and a wrong password costs one scrypt hash whether or not the account
exists, so neither answers nor timings tell which names exist.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass

from sqlalchemy import Engine, bindparam, case, delete, insert, literal_column, select, true, update

from gridmap.errors import AuthError, InputError, Problem, SignInLockedError, ThrottledError
from gridmap.model import UserRole
from gridmap.settings import Settings
from gridmap.store.engine import fetch, write_transaction
from gridmap.store.layers import ALL_VERSIONS, insert_if_missing, versions_of
from gridmap.store.tables import LAYER_TABLES, api_tokens, sign_in_failures, users

_SCRYPT_R, _SCRYPT_P = 8, 1
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


#: roles whose rights hold within an area, and what that area is made of
GRID_ROLES: tuple[str, ...] = (UserRole.GRID_LEADER, UserRole.GRID_WORKER)
AREA_ROLES: tuple[str, ...] = (UserRole.STREET_ADMIN, UserRole.COMMUNITY_ADMIN)


@dataclass(frozen=True)
class Person:
    """The person an account belongs to, whose terms in office give it its area."""

    member_id: int | None = None
    name: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class User:
    """A signed-in user: name, role, and where their rights hold — the codes and ids of
    their grids (grid leaders and workers), the ids of their communities and the code of
    their street or community (street and community admins)."""

    name: str
    role: str
    grid_codes: tuple[str, ...] = ()
    grid_ids: tuple[int, ...] = ()
    area_code: str | None = None
    community_ids: tuple[int, ...] = ()
    street_id: int | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == UserRole.ADMIN

    @property
    def has_area(self) -> bool:
        """Whether the user's rights hold within an area only."""
        return self.role in GRID_ROLES or self.role in AREA_ROLES


PUBLIC = User("public", UserRole.PUBLIC)


@functools.cache
def _scrypt_n() -> int:
    """scrypt's N for new hashes, and for the stand-in hash of names that do not exist, as
    the installation sets it (``GRIDMAP_PASSWORD_HASH_COST``)."""
    return int(2 ** Settings().password_hash_cost)


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    # scrypt needs 128·r·N bytes; hashlib refuses more than 32 MiB unless told
    return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, maxmem=256 * r * n + 2**20)


def hash_password(password: str) -> str:
    """A salted scrypt hash of ``password`` in one self-describing string."""
    salt, n = secrets.token_bytes(16), _scrypt_n()
    digest = _scrypt(password, salt, n, _SCRYPT_R, _SCRYPT_P)
    return f"scrypt${n}${_SCRYPT_R}${_SCRYPT_P}${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches a hash made by :func:`hash_password` (constant time), at
    whatever cost it was made."""
    try:
        kind, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if kind != "scrypt":
        return False
    got = _scrypt(password, bytes.fromhex(salt), int(n), int(r), int(p))
    return hmac.compare_digest(got.hex(), digest)


def _stand_in_hash() -> str:
    """Checked instead when the account does not exist, so that both cost one scrypt hash of
    the installation's cost."""
    return f"scrypt${_scrypt_n()}${_SCRYPT_R}${_SCRYPT_P}$" + "00" * 16 + "$" + "00" * 64


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _grid_ids(engine: Engine, codes: tuple[str, ...], *, strict: bool = True) -> tuple[int, ...]:
    """The ids of the grids of ``codes``; InputError naming unknown ones, or (not ``strict``:
    an account naming a grid since retired) without them."""
    grids = LAYER_TABLES["grids"]
    with engine.connect() as conn:
        rows = dict(conn.execute(select(grids.c.code, grids.c.id).where(grids.c.code.in_(codes))).all())
    unknown = [c for c in codes if c not in rows]
    if unknown and strict:
        raise InputError(f"no grid has the code(s) {', '.join(unknown)}")
    return tuple(int(rows[c]) for c in codes if c in rows)


def _area_of_code(engine: Engine, role: str, code: str) -> tuple[tuple[int, ...], int | None]:
    """(community ids, street id) of a community admin's community or a street admin's street."""
    layer = "streets" if role == UserRole.STREET_ADMIN else "communities"
    table = LAYER_TABLES[layer]
    with engine.connect() as conn:
        found = conn.execute(select(table.c.id).where(table.c.code == code)).first()
        if found is None:
            what = "street" if layer == "streets" else "community"
            raise InputError([Problem(f"no {what} has the code {code}", field="area")])
        if layer == "communities":
            return (int(found.id),), None
        communities = LAYER_TABLES["communities"]
        ids = conn.execute(select(communities.c.id).where(communities.c.street_id == found.id)).scalars()
        return tuple(sorted(int(i) for i in ids)), int(found.id)


def _terms_of(engine: Engine, person: Person, roles: tuple[str, ...], layer: str) -> tuple[int, ...]:
    """The features of ``layer`` for which ``person`` holds one of ``roles`` today."""
    terms = LAYER_TABLES["assignments"]
    today = dt.date.today()
    same = terms.c.member_id == person.member_id if person.member_id is not None else (
        (terms.c.person_name == person.name) & (terms.c.phone == person.phone)
    )  # fmt: skip
    query = select(terms.c.target_id).where(
        same, terms.c.role.in_(roles), terms.c.target_layer == layer, terms.c.valid_from <= today,
        (terms.c.valid_to.is_(None)) | (terms.c.valid_to > today),
    )  # fmt: skip
    with engine.connect() as conn:
        return tuple(sorted({int(i) for i in conn.execute(query).scalars()}))


def _community_posts() -> tuple[str, ...]:
    from gridmap.orgcatalogue import org_catalogue

    return tuple(k for k, rule in org_catalogue().roles.items() if "communities" in rule.held_for)


#: the longest account name (the users table holds 200 characters; sign-in takes as many)
MAX_NAME = 100


def add_user(
    engine: Engine,
    name: str,
    role: str,
    password: str,
    grids: list[str] | None = None,
    *,
    area: str | None = None,
    person: Person | None = None,
) -> User:
    """Create an account. Grid leaders and workers need grids (codes) or a person whose terms
    give them; community admins a community's code or such a person; street admins a
    street's code; other roles none of these."""
    name = name.strip()
    problems = []
    if not name:
        problems.append("the user name is empty")
    elif len(name) > MAX_NAME:
        problems.append(f"the user name is {len(name)} characters long; at most {MAX_NAME} are allowed")
    elif any(not c.isprintable() for c in name):
        problems.append(f"the user name {name!r} holds a control character (a tab, a line break …)")
    if role not in tuple(UserRole):
        problems.append(f"role was '{role}' but is expected to be one of {', '.join(UserRole)}")
    if len(password) < 8:
        problems.append("the password is shorter than 8 characters")
    codes = tuple(dict.fromkeys(c.strip() for c in (grids or []) if c.strip()))
    area = area.strip() if area else None
    if person is not None and person.member_id is None and not (person.name and person.phone):
        problems.append("a person is named by --member ID, or by --person NAME with --phone P")
    if role in GRID_ROLES and not codes and person is None:
        problems.append(f"a {role} needs --grid CODE (the grids the account works in) or the person whose terms "
                        "give them (--member ID, or --person NAME --phone P)")  # fmt: skip
    if role not in GRID_ROLES and codes:
        problems.append(f"only grid leaders and workers have grids; role '{role}' works by its role or area")
    if role == UserRole.COMMUNITY_ADMIN and not area and person is None:
        problems.append(
            "a community_admin needs --area CODE (a community's code) or the person whose posts give it"
        )
    if role == UserRole.STREET_ADMIN and not area:
        problems.append("a street_admin needs --area CODE (a street's code)")
    if role not in AREA_ROLES and area:
        problems.append(
            f"only street and community admins have an --area; role '{role}' works by its role or grids"
        )
    if role not in (*GRID_ROLES, UserRole.COMMUNITY_ADMIN) and person is not None:
        problems.append(f"the area of a {role} does not come from a person's terms")
    if problems:
        raise InputError([Problem(p) for p in problems])
    if codes:
        _grid_ids(engine, codes)
    if area:
        _area_of_code(engine, role, area)
    with write_transaction(engine) as conn:
        exists = conn.execute(select(users.c.id).where(users.c.name == name)).first()
        if exists:
            raise InputError(f"a user named '{name}' exists already")
        conn.execute(
            insert(users).values(
                name=name,
                role=role,
                grids=",".join(codes) or None,
                area=area,
                member_id=person.member_id if person else None,
                person_name=person.name if person else None,
                person_phone=person.phone if person else None,
                password_hash=hash_password(password),
                created_at=_now(),
                active=True,
            )
        )
    return _account(engine, name)


def _account(engine: Engine, name: str) -> User:
    with engine.connect() as conn:
        row = conn.execute(select(users).where(users.c.name == name)).first()
    if row is None:
        raise InputError(f"no user is named '{name}'")
    return _user(engine, row)


def _user(engine: Engine, row) -> User:
    """The user of an account row, with their area as it is today."""
    person = (
        Person(row.member_id, row.person_name, row.person_phone)
        if row.member_id is not None or row.person_name
        else None
    )
    codes = tuple(c for c in (row.grids or "").split(",") if c)
    if row.role in GRID_ROLES:
        ids = _grid_ids(engine, codes, strict=False) if codes else ()
        if person is not None:
            ids = tuple(sorted({*ids, *_terms_of(engine, person, (row.role,), "grids")}))
            codes = _grid_codes(engine, ids)
        return User(row.name, row.role, codes, ids)
    if row.role in AREA_ROLES:
        communities, street = _area_of_code(engine, row.role, row.area) if row.area else ((), None)
        if person is not None:
            communities = tuple(
                sorted({*communities, *_terms_of(engine, person, _community_posts(), "communities")})
            )
        return User(row.name, row.role, area_code=row.area, community_ids=communities, street_id=street)
    return User(row.name, row.role)


def _grid_codes(engine: Engine, ids: tuple[int, ...]) -> tuple[str, ...]:
    grids = LAYER_TABLES["grids"]
    with engine.connect() as conn:
        rows = dict(conn.execute(select(grids.c.id, grids.c.code).where(grids.c.id.in_(ids))).all())
    return tuple(str(rows[i]) for i in ids if i in rows)


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
    right = check_password(password, row.password_hash if row is not None else _stand_in_hash())
    if row is None or not right:
        _count_failure(engine, keys, policy)
        raise AuthError("wrong user name or password")
    token = secrets.token_urlsafe(32)
    with write_transaction(engine) as conn:
        conn.execute(delete(sign_in_failures).where(sign_in_failures.c.key == keys[0]))
        conn.execute(delete(api_tokens).where(api_tokens.c.expires_at < _now()))
        conn.execute(
            insert(api_tokens).values(
                token_hash=token_hash(token),
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


def token_hash(token: str) -> str:
    """What is kept of a bearer token: its SHA-256, in hexadecimal."""
    return hashlib.sha256(token.encode()).hexdigest()


#: the account of a token's hash (built once: every signed-in request runs it)
_TOKEN_ACCOUNT = (
    select(users, api_tokens.c.expires_at)
    .join(api_tokens, api_tokens.c.user_id == users.c.id)
    .where(api_tokens.c.token_hash == bindparam("token_hash"), users.c.active)
)


#: that account (its columns empty for a token not known) beside every layer's version
#: counter, in one statement: a row per layer, and one row when there is no layer (its
#: parameter ``token_hash``, :func:`token_hash`)
_ACCOUNT = _TOKEN_ACCOUNT.subquery("account")
_VERSIONS = ALL_VERSIONS.subquery("versions")
TOKEN_ACCOUNT_AND_VERSIONS = select(_ACCOUNT, _VERSIONS.c.layer, _VERSIONS.c.version).select_from(
    select(literal_column("1").label("one"))
    .subquery("anchor")
    .outerjoin(_ACCOUNT, true())
    .outerjoin(_VERSIONS, true())
)


def user_for_token(engine: Engine, token: str) -> User:
    """The user a bearer token belongs to; AuthError when unknown or expired."""
    rows = fetch(engine, _TOKEN_ACCOUNT, {"token_hash": token_hash(token)})
    return _token_user(engine, rows[0] if rows else None)


def user_and_versions(engine: Engine, token: str) -> tuple[User, dict[str, int]]:
    """The user a bearer token belongs to (AuthError when unknown or expired) and every
    layer's version counter as committed now, read in one statement: each tile and each
    Open311 filing asks both."""
    rows = fetch(engine, TOKEN_ACCOUNT_AND_VERSIONS, {"token_hash": token_hash(token)})
    return _token_user(engine, rows[0] if rows[0].name is not None else None), versions_of(rows)


def _token_user(engine: Engine, row) -> User:
    if row is None:
        raise AuthError("the bearer token is not known; sign in again")
    if row.expires_at < _now():
        raise AuthError("the bearer token has expired; sign in again")
    return _user(engine, row)


def sign_out(engine: Engine, token: str) -> None:
    """Forget a token."""
    with write_transaction(engine) as conn:
        conn.execute(delete(api_tokens).where(api_tokens.c.token_hash == token_hash(token)))


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
    """Every active account, with its area as it is today."""
    with engine.connect() as conn:
        rows = conn.execute(select(users).where(users.c.active).order_by(users.c.id)).all()
    return [_user(engine, r) for r in rows]
