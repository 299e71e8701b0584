"""A layer's rows go into SpatiaLite as SQLAlchemy's own inserts put them there: the whole
demo district, and rows without ids with missing values and times on the second, stored
cell for cell the same, each value of the same SQLite type, by ``insert_rows`` (many rows
to a statement, straight to the driver) and by SQLAlchemy's ``executemany`` of the same
records. (On PostGIS both go by the same ``COPY``: the comparison would be with itself.)"""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import Engine, insert, text

from gridmap.demo.build import write_demo
from gridmap.store import layers
from gridmap.store.engine import make_engine, write_transaction
from gridmap.store.layers import _records, insert_rows, insert_values, read_layer
from gridmap.store.schema import init_db
from gridmap.store.tables import GEOMETRY_COLUMN, LAYER_TABLES


def _by_sqlalchemy(conn, table, frame, spec) -> int:
    """The oracle: the same records as SQLAlchemy's ``executemany`` inserts them, its types
    binding each value (the rows with ids apart from those without)."""
    rows = _records(frame, spec)
    for group in ([r for r in rows if "id" in r], [r for r in rows if "id" not in r]):
        if group:
            conn.execute(insert(table).values(insert_values(list(group[0]), bool(spec.geometry))), group)
    return len(rows)


def _stored(engine: Engine) -> dict[str, list[tuple]]:
    """Every layer table's rows in id order: each column's value and its SQLite type; the
    geometry as WKB."""
    out = {}
    with engine.connect() as conn:
        for name, table in LAYER_TABLES.items():
            columns = [c.name for c in table.columns if c.name != GEOMETRY_COLUMN]
            cells = [f'"{c}"' for c in columns] + [f'typeof("{c}")' for c in columns]
            if GEOMETRY_COLUMN in table.c:
                cells.append(f"ST_AsBinary({GEOMETRY_COLUMN})")
            rows = conn.execute(text(f'SELECT {", ".join(cells)} FROM "{name}" ORDER BY id')).all()
            out[name] = [tuple(bytes(v) if isinstance(v, memoryview) else v for v in row) for row in rows]
    return out


@pytest.fixture
def two_databases(tmp_path) -> list[Engine]:
    """Two new, empty SpatiaLite files."""
    engines = [make_engine(f"sqlite:///{tmp_path / f'{name}.sqlite'}") for name in ("ours", "oracle")]
    for engine in engines:
        init_db(engine)
    yield engines
    for engine in engines:
        engine.dispose()


def test_every_layer_is_stored_as_sqlalchemys_inserts_store_it(two_databases, demo_data, monkeypatch):
    ours, oracle = two_databases
    write_demo(ours, demo_data)
    facilities = read_layer(ours, "facilities").head(7).drop(columns="id")  # numbered by the database
    facilities.loc[facilities.index[:3], ["name", "capacity"]] = None  # missing values
    events = read_layer(ours, "events").head(3).drop(columns="id")
    events["filed_at"] = pd.Timestamp("2026-03-02 08:00")  # on the second: no microseconds to write
    added = {"facilities": facilities, "events": events}

    def add(engine: Engine) -> None:
        with write_transaction(engine) as conn:
            for name, frame in added.items():
                insert_rows(conn, name, frame)

    add(ours)
    with monkeypatch.context() as patch:
        patch.setattr(layers, "_sqlite_insert_rows", _by_sqlalchemy)
        write_demo(oracle, demo_data)
        add(oracle)
    stored, expected = _stored(ours), _stored(oracle)
    assert stored["facilities"][-7:] == expected["facilities"][-7:]
    assert stored["events"][-3:] == expected["events"][-3:]
    name_at = [c.name for c in LAYER_TABLES["facilities"].columns].index("name")
    assert [row[name_at] for row in stored["facilities"][-7:]][:3] == [None] * 3
    for name in LAYER_TABLES:
        assert stored[name] == expected[name], name
    assert sum(map(len, stored.values())) > 80_000  # the demo's 86,000-odd rows
