"""The organisation catalogue: kinds of party organisation, branch forms, posts, cross-posts,
grid kinds and code standards, as versioned data (``gridmap/data/organisation.yaml``).

A district extends it without code: a YAML file of the same shape named by the setting
``GRIDMAP_ORG_CATALOGUE`` adds entries or renames ours; an id already in the packaged catalogue
keeps its meaning (its rules may be changed, its id not removed). :func:`org_catalogue` returns
the catalogue in force; every check of a kind, form, role or grid code reads it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from gridmap.errors import InputError
from gridmap.packaged import district_yaml, packaged_yaml

CATALOGUE_FILE = "organisation.yaml"
#: the environment variable (setting ``org_catalogue``) naming a district's additions
ENV_VAR = "GRIDMAP_ORG_CATALOGUE"
#: the layers an organisation may be built on, and the layers a post may be held for
ORG_TARGETS = ("districts", "streets", "communities", "compounds", "grids", "buildings", "coop_units")
ROLE_TARGETS = ("grids", "buildings", "compounds", "communities", "party_orgs")
SECTIONS = ("org_kinds", "branch_forms", "roles", "cross_posts", "grid_kinds", "code_standards")


@dataclass(frozen=True)
class OrgKindRule:
    id: str
    name_zh: str
    parents: tuple[str, ...]
    built_on: str  # the layer of the feature it is built on
    counts_as: str | None  # "branch", "group" or None


@dataclass(frozen=True)
class RoleRule:
    id: str
    name_zh: str
    held_for: tuple[str, ...]  # the layers of the features it is held for
    single: bool  # one holder at a time per feature


@dataclass(frozen=True)
class CodeStandard:
    id: str
    name_zh: str
    pattern: str
    says: str
    community: tuple[int, int] | None  # the slice of the code that is the community's code

    def problem(self, code: str, community_code: str | None) -> str | None:
        """What is wrong with ``code`` under this standard, or None."""
        if not re.fullmatch(self.pattern, code):
            return f"grid code '{code}' is not {self.says}"
        if self.community and community_code:
            first, last = self.community
            if code[first:last] != community_code:
                where = "begin with" if first == 0 else f"carry at characters {first + 1}–{last}"
                return f"grid code '{code}' does not {where} its community's code {community_code}"
        return None


@dataclass(frozen=True)
class GridKindRule:
    id: str
    name_zh: str
    spans_communities: bool
    code: CodeStandard


@dataclass(frozen=True)
class OrgCatalogue:
    version: str
    org_kinds: Mapping[str, OrgKindRule]
    branch_forms: Mapping[str, str]  # id → name_zh
    roles: Mapping[str, RoleRule]
    cross_posts: Mapping[str, tuple[str, tuple[str, ...]]]  # id → (name_zh, roles)
    grid_kinds: Mapping[str, GridKindRule]
    code_standards: Mapping[str, CodeStandard]

    def ids(self, section: str) -> tuple[str, ...]:
        """The ids of a section (``org_kinds``, ``branch_forms``, ``roles``, ``grid_kinds`` …)."""
        return tuple(getattr(self, section))

    def kinds_counted_as(self, what: str) -> tuple[str, ...]:
        """The organisation kinds that count as a ``branch`` or a ``group``."""
        return tuple(k for k, rule in self.org_kinds.items() if rule.counts_as == what)

    def grid_kind(self, kind: str | None) -> GridKindRule:
        """The rules of a grid kind; a grid without a kind is judged as a party grid."""
        return self.grid_kinds[kind or "party"]


def _merge(base: dict[str, Any], extra: Mapping[str, Any], source: str) -> dict[str, Any]:
    unknown = [k for k in extra if k not in (*SECTIONS, "version")]
    if unknown:
        raise InputError(
            f"{source}: unknown section(s) {', '.join(unknown)}; expected: {', '.join(SECTIONS)}"
        )
    out = {k: dict(v or {}) if isinstance(v, Mapping) else v for k, v in base.items()}
    for section in SECTIONS:
        entries = extra.get(section) or {}
        if not isinstance(entries, Mapping):
            raise InputError(f"{source}: section {section} must map ids to entries")
        for key, entry in entries.items():
            mine = out[section].get(key)
            out[section][key] = (
                {**mine, **entry} if isinstance(mine, Mapping) and isinstance(entry, Mapping) else entry
            )
    if "version" in extra:
        out["version"] = f"{base['version']}+{extra['version']}"
    return out


def parse_catalogue(data: Mapping[str, Any], source: str = CATALOGUE_FILE) -> OrgCatalogue:
    """The catalogue in ``data`` (the YAML's content), or an InputError naming the entry that
    is malformed or refers to something the catalogue does not hold."""
    try:
        standards = {
            key: CodeStandard(
                str(key),
                str(s["name_zh"]),
                str(s["pattern"]),
                str(s["says"]),
                (int(s["community"][0]), int(s["community"][1])) if s.get("community") else None,
            )
            for key, s in data["code_standards"].items()
        }
        for s in standards.values():
            re.compile(s.pattern)
        kinds = {
            key: OrgKindRule(
                str(key),
                str(k["name_zh"]),
                tuple(k.get("parents") or ()),
                str(k["built_on"]),
                k.get("counts_as"),
            )
            for key, k in data["org_kinds"].items()
        }
        roles = {
            key: RoleRule(str(key), str(r["name_zh"]), tuple(r["held_for"]), bool(r.get("single", False)))
            for key, r in data["roles"].items()
        }
        grid_kinds = {}
        for key, g in data["grid_kinds"].items():
            if g["code"] not in standards:
                raise InputError(
                    f"{source}: grid kind {key} follows code standard '{g['code']}', which is not one of: "
                    f"{', '.join(standards)}"
                )
            grid_kinds[key] = GridKindRule(
                str(key), str(g["name_zh"]), bool(g["spans_communities"]), standards[g["code"]]
            )
        cross = {
            key: (str(c["name_zh"]), tuple(c["roles"])) for key, c in (data.get("cross_posts") or {}).items()
        }
        forms = {str(key): str(f["name_zh"]) for key, f in data["branch_forms"].items()}
        version = str(data["version"])
    except InputError:
        raise
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, re.error) as exc:
        raise InputError(f"{source}: malformed organisation catalogue ({type(exc).__name__}: {exc})") from exc
    for rule in kinds.values():
        bad = [p for p in rule.parents if p not in kinds]
        if bad or rule.built_on not in ORG_TARGETS or rule.counts_as not in (None, "branch", "group"):
            raise InputError(
                f"{source}: organisation kind {rule.id}: parents must be kinds of the catalogue, on one of "
                f"{', '.join(ORG_TARGETS)}, counts_as branch or group"
                + (f" (unknown parent(s): {', '.join(bad)})" if bad else "")
            )
    for role in roles.values():
        if not role.held_for or any(t not in ROLE_TARGETS for t in role.held_for):
            raise InputError(f"{source}: post {role.id} must be held for some of: {', '.join(ROLE_TARGETS)}")
    for key, (_, posts) in cross.items():
        if any(p not in roles for p in posts):
            raise InputError(f"{source}: cross-post {key} names posts that are not in the catalogue")
    return OrgCatalogue(version, kinds, forms, roles, cross, grid_kinds, standards)


@cache
def _load(extension: str | None) -> OrgCatalogue:
    base = packaged_yaml(CATALOGUE_FILE)
    if not extension:
        return parse_catalogue(base)
    extra = district_yaml(Path(extension))
    if not isinstance(extra, Mapping):
        raise InputError(f"{extension}: an organisation catalogue must map sections to entries")
    return parse_catalogue(_merge(base, extra, extension), extension)


def org_catalogue(extension: str | Path | None = None) -> OrgCatalogue:
    """The catalogue in force: the packaged one with the district's additions from
    ``extension``, else from the file named by ``GRIDMAP_ORG_CATALOGUE``."""
    path = extension if extension is not None else os.environ.get(ENV_VAR)
    return _load(str(path) if path else None)
