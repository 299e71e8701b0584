"""The exception tree of gridmap.

Every error says what was wrong. Input problems are collected first, then raised together
as one :class:`InputError`, so that a user sees every problem of a file in one run.
"""

from __future__ import annotations

from dataclasses import dataclass


class GridmapError(Exception):
    """Base of every error gridmap raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input.

    ``feature`` is the 0-based row index in the file; ``feature_id`` the feature's own id or
    code when it has one. Printed, a row is counted as people see it: a CSV's row as a
    spreadsheet numbers it (row 2 is the first below the header), a GIS file's feature from 1.
    """

    message: str
    file: str | None = None
    feature: int | None = None
    feature_id: str | None = None
    field: str | None = None
    severity: str = "error"

    def place(self) -> str:
        """Where the row is, as the file's user counts it ("row 3", "feature 2")."""
        if self.feature is None:
            return ""
        if self.file and self.file.lower().endswith((".csv", ".xlsx")):  # a table with its header row
            return f"row {self.feature + 2}"
        return f"feature {self.feature + 1}"

    def __str__(self) -> str:
        where = []
        if self.file:
            where.append(self.file)
        if self.feature is not None:
            label = self.place()
            if self.feature_id not in (None, ""):
                label += f" (id {self.feature_id})"
            where.append(label)
        if self.field:
            where.append(f"field '{self.field}'")
        prefix = ": ".join([", ".join(where)]) if where else ""
        return f"{prefix}: {self.message}" if prefix else self.message


class InputError(GridmapError):
    """An input (file, feature, argument) that cannot be used; nothing was written."""

    def __init__(self, problems: list[Problem] | str, *, file: str | None = None) -> None:
        if isinstance(problems, str):
            problems = [Problem(problems, file=file)]
        self.problems = list(problems)
        shown = "\n".join(f"  - {p}" for p in self.problems[:50])
        more = len(self.problems) - 50
        if more > 0:
            shown += f"\n  … and {more} more"
        count = len(self.problems)
        head = f"{count} problem{'s' if count != 1 else ''} found; nothing was written:"
        super().__init__(f"{head}\n{shown}")


class SettingsError(GridmapError):
    """Settings (``GRIDMAP_*`` variables, or values given in code) that do not fit their kind
    or bounds, each named with what was expected."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("settings that cannot be used:\n" + "\n".join(f"  - {p}" for p in self.problems))


class NotFoundError(GridmapError):
    """A layer, feature or record that does not exist."""


class DatabaseError(GridmapError):
    """The database cannot be opened or is not in the expected state."""


class DatabaseBusyError(DatabaseError):
    """The database is locked by another writer, or its connection was lost: retry shortly."""

    retry_after_s = 2


class AuthError(GridmapError):
    """Sign-in failed, or a token is missing, unknown or expired."""


class SignInLockedError(AuthError):
    """Too many wrong passwords for an account name: refused for a while."""

    def __init__(self, message: str, *, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class ThrottledError(GridmapError):
    """Too many requests of a kind (wrong passwords from one address, jobs waiting): retry later."""

    def __init__(self, message: str, *, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class AccessError(GridmapError):
    """The signed-in user's role or area does not cover what was asked for."""


class ConflictError(GridmapError):
    """An edit based on a stale version of a feature; nothing was changed."""


class StaleEditError(ConflictError):
    """An edit named a version of the feature that is no longer the stored one."""


class TagRequiredError(ConflictError):
    """An edit did not name the version of the feature it was based on."""
