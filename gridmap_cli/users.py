"""``gridmap user``: accounts of the web service."""

from __future__ import annotations

import sys

from gridmap.errors import InputError
from gridmap.settings import Settings
from gridmap_cli.common import EXIT_OK, open_engine
from gridmap_cli.terminal import print_table


def password_of(args) -> str:
    import getpass
    import os

    if args.password:
        return args.password
    if os.environ.get("GRIDMAP_PASSWORD"):
        return os.environ["GRIDMAP_PASSWORD"]
    if sys.stdin.isatty():
        first = getpass.getpass(f"password for {args.name}: ")
        if getpass.getpass("again: ") != first:
            raise InputError("the two passwords differ")
        return first
    raise InputError("give the password with --password or GRIDMAP_PASSWORD")


def cmd_user(args, settings: Settings) -> int:
    from gridmap import accounts

    engine = open_engine(settings)
    if args.action == "list":
        rows = [
            (u.name, u.role, ", ".join(u.grid_codes) or u.area_code or "")
            for u in accounts.list_users(engine)
        ]
        print_table(rows, ("user", "role", "grids or area"))
        return EXIT_OK
    if not args.name:
        raise InputError(f"'user {args.action}' needs the user NAME")
    if args.action == "unlock":
        was = accounts.unlock(engine, args.name)
        print(f"{args.name} may sign in again" if was else f"{args.name} had no failed sign-ins to lift")
        return EXIT_OK
    if args.action == "password":
        accounts.set_password(engine, args.name, password_of(args))
        print(f"changed the password of {args.name}; their sessions were ended")
        return EXIT_OK
    if not args.role:
        raise InputError("'user add' needs --role " + "|".join(accounts.UserRole))
    person = None
    if args.member is not None or args.person or args.phone:
        person = accounts.Person(args.member, args.person, args.phone)
    made = accounts.add_user(engine, args.name, args.role, password_of(args), args.grid, area=args.area,
                             person=person)  # fmt: skip
    where = ""
    if made.grid_codes:
        where = f" for grid(s) {', '.join(made.grid_codes)}"
    elif made.area_code or made.community_ids:
        where = f" for {made.area_code or 'communities ' + ', '.join(map(str, made.community_ids))}"
    if person is not None:
        holds = made.grid_ids or made.community_ids
        where += (
            " (as long as the person holds the post)"
            if holds
            else ("; note: the person holds no such post today, so the account works nowhere until they do")
        )
    print(f"added {made.role} {made.name}{where}")
    return EXIT_OK
