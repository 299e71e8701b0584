"""What a database's failure means for whoever asked: the server cannot be reached or refuses
the connection, the file cannot be opened, the schema is not there yet, another writer holds
the lock, another writer's change came first. Said once, for the command line; the service
answers them with its own statuses (``api/errors.py``)."""

from __future__ import annotations

import re

from sqlalchemy import exc as sa_exc

from gridmap.errors import DatabaseBusyError, DatabaseError
from gridmap.settings import shown_url
from gridmap.store.engine import is_busy

#: a missing table, as SQLite ("no such table: x") and PostgreSQL ('relation "x" does not
#: exist') name it
_MISSING_TABLE = re.compile(r'no such table: (?:main\.)?(\w+)|relation "(?:\w+\.)?(\w+)" does not exist')


def explained(error: BaseException, url: str) -> DatabaseError | None:
    """The failure ``error`` of the database at ``url`` as a :class:`DatabaseError` naming the
    database (its password left out) and what to do; None when ``error`` is not one of these."""
    if not isinstance(error, sa_exc.SQLAlchemyError):
        return None
    text = str(getattr(error, "orig", None) or error).strip()
    first = text.splitlines()[0] if text else type(error).__name__
    if is_busy(error):
        return DatabaseBusyError(
            f"the database at {shown_url(url)} is busy with another write; try again shortly"
        )
    missing = _MISSING_TABLE.search(text)
    if missing:
        table = missing.group(1) or missing.group(2)
        return DatabaseError(
            f"the database at {shown_url(url)} has no table '{table}': run 'gridmap db init' "
            "(or 'gridmap db upgrade' for a database of an older gridmap) first"
        )
    if isinstance(error, sa_exc.IntegrityError):  # two writers at once, past every check before
        return DatabaseError(
            f"the change conflicts with what the database at {shown_url(url)} holds ({first}); nothing "
            "was written: try again"
        )
    if isinstance(error, sa_exc.OperationalError | sa_exc.InterfaceError | sa_exc.DisconnectionError):
        return DatabaseError(f"cannot use the database at {shown_url(url)}: {first}")
    return None
