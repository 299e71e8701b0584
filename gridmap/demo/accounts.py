"""One account per access role for the demo district, with published demo passwords."""

from __future__ import annotations

from sqlalchemy import Engine, select

from gridmap.accounts import add_user, list_users
from gridmap.model import UserRole
from gridmap.store.tables import LAYER_TABLES, users


def demo_accounts(engine: Engine) -> list[tuple[str, str, str, tuple[str, ...]]]:
    """Create (when missing) and return the demo accounts: (name, role, password, grids).

    The grid leader gets the first grid, in code order, where people live. The passwords are public: they are
    for the demo database only."""
    grids = LAYER_TABLES["grids"]
    with engine.connect() as conn:
        lived_in = select(grids.c.code).where(grids.c.households > 0).order_by(grids.c.code).limit(1)
        first = conn.execute(lived_in).scalar_one()
        existing = set(conn.execute(select(users.c.name)).scalars())
    wanted = [
        ("admin", UserRole.ADMIN, "gridmap-admin", ()),
        ("planner", UserRole.PLANNER, "gridmap-planner", ()),
        ("leader", UserRole.GRID_LEADER, "gridmap-leader", (first,)),
        ("resident", UserRole.PUBLIC, "gridmap-public", ()),
    ]
    for name, role, password, codes in wanted:
        if name not in existing:
            add_user(engine, name, role, password, list(codes))
    held = {u.name: u for u in list_users(engine)}  # accounts kept from before stay as they were
    return [(n, held[n].role, p, held[n].grid_codes) for n, _, p, _ in wanted if n in held]
