"""The dependency direction: api and maps import gridmap, never the reverse."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN_IN_GRIDMAP = ("api", "maps", "fastapi", "uvicorn", "folium", "starlette")
ANALYSIS_MODULES = ("gridcode.py", "crs.py", "model.py", "errors.py")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_gridmap_never_imports_api_maps_or_web_frameworks():
    offenders = {
        str(p.relative_to(ROOT)): sorted(_imports(p) & set(FORBIDDEN_IN_GRIDMAP))
        for p in (ROOT / "gridmap").rglob("*.py")
        if _imports(p) & set(FORBIDDEN_IN_GRIDMAP) and p.name != "cli.py"
    }
    assert offenders == {}


def test_cli_reaches_the_service_only_lazily():
    tree = ast.parse((ROOT / "gridmap" / "cli.py").read_text(encoding="utf-8"))
    top_level = {(n.module or "").split(".")[0] for n in tree.body if isinstance(n, ast.ImportFrom)} | {
        a.name.split(".")[0] for n in tree.body if isinstance(n, ast.Import) for a in n.names
    }
    assert not top_level & set(FORBIDDEN_IN_GRIDMAP)


def test_core_modules_do_not_touch_storage():
    for name in ANALYSIS_MODULES:
        assert not _imports(ROOT / "gridmap" / name) & {"sqlalchemy", "geoalchemy2"}, name
