"""Export a layer to GeoPackage, GeoJSON or CSV, chosen by the file's extension."""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

import geopandas as gpd
import pandas as pd
from pyogrio.errors import DataSourceError
from sqlalchemy import Engine

from gridmap.errors import InputError
from gridmap.io.cells import text_safe
from gridmap.model import layer_spec
from gridmap.store.layers import read_layer

EXPORT_SUFFIXES = (".gpkg", ".geojson", ".csv")


def write_frame(frame: pd.DataFrame, path: str | Path, *, layer: str) -> Path:
    """Write a (Geo)DataFrame to ``path``: .gpkg (layer named ``layer``), .geojson or .csv.

    CSV holds points as ``lon``/``lat`` columns and other geometry as WKT in ``wkt``, written
    for a spreadsheet (:func:`write_csv`).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in EXPORT_SUFFIXES:
        raise InputError(f"cannot export to '{path.name}': expected one of {', '.join(EXPORT_SUFFIXES)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    is_geo = isinstance(frame, gpd.GeoDataFrame)
    if suffix == ".csv":
        out = pd.DataFrame(frame.drop(columns=frame.geometry.name) if is_geo else frame)
        if is_geo and len(frame) and (frame.geom_type == "Point").all():
            out["lon"], out["lat"] = frame.geometry.x.round(7), frame.geometry.y.round(7)
        elif is_geo:
            out["wkt"] = frame.geometry.to_wkt(rounding_precision=7)
        return write_csv(out, path)
    if not is_geo and suffix == ".geojson":
        raise InputError(f"layer '{layer}' has no geometry; export it as .csv or .gpkg")
    driver = "GPKG" if suffix == ".gpkg" else "GeoJSON"
    kwargs = {"layer": layer} if driver == "GPKG" else {}
    if path.exists() and driver == "GeoJSON":
        path.unlink()
    try:
        gpd.GeoDataFrame(frame).to_file(path, driver=driver, engine="pyogrio", **kwargs)
    except DataSourceError as exc:  # GDAL could not create the file there
        raise InputError(f"cannot write '{path}': {exc}") from None
    return path


def write_csv(frame: pd.DataFrame, path: str | Path) -> Path:
    """``frame`` (no geometry) as a CSV file for a spreadsheet: UTF-8 with a byte-order mark
    (Excel's "CSV UTF-8"; without it Excel reads Chinese text as the system's GBK), and text
    that starts like a formula behind an apostrophe (:func:`~gridmap.io.cells.text_safe`)."""
    path = Path(path)
    text_safe(frame).to_csv(path, index=False, encoding="utf-8-sig")
    return path


#: what a report's ``--out`` may be
REPORT_SUFFIXES = (".xlsx", ".csv", ".gpkg")
_SHEET_NAME = 31  # characters a spreadsheet's sheet name may have
_CELL = 32_767  # characters a spreadsheet's cell may hold


def _fits_a_cell(value: object) -> object:
    """A text too long for one cell, cut at a comma with how many characters were left out."""
    if not isinstance(value, str) or len(value) <= _CELL:
        return value
    cut = value.rfind(",", 0, _CELL - 60)
    return f"{value[:cut]} … ({len(value) - cut:,} more characters: see the .csv or .gpkg)"


def write_workbook(frames: dict[str, pd.DataFrame], path: str | Path | BinaryIO) -> None:
    """Write frames as the sheets of one spreadsheet (.xlsx; a path or an open binary file),
    in order; geometry is left out (points as lon/lat columns), timezones dropped, and text is
    text even where it starts with "=" (never a formula)."""
    if isinstance(path, str | Path):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    with pd.ExcelWriter(path, engine="openpyxl") as book:
        for name, frame in frames.items():
            out = pd.DataFrame(frame)
            if isinstance(frame, gpd.GeoDataFrame):
                out = pd.DataFrame(frame.drop(columns=frame.geometry.name))
                if len(frame) and (frame.geom_type == "Point").all():
                    out["lon"], out["lat"] = frame.geometry.x.round(7), frame.geometry.y.round(7)
            for column in out.columns:
                if isinstance(out[column].dtype, pd.DatetimeTZDtype):
                    out[column] = out[column].dt.tz_localize(None)
                elif pd.api.types.is_string_dtype(out[column].dtype) or out[column].dtype == object:
                    out[column] = out[column].map(_fits_a_cell)
            out.to_excel(book, sheet_name=name[:_SHEET_NAME], index=False)
        _as_text(book.book)


def _as_text(workbook) -> None:
    """Every cell openpyxl took for a formula kept as the text it is: we write no formulas, and
    a name or description starting with "=" (typed by anyone who may edit it) would otherwise
    run in the spreadsheet of whoever opens the report."""
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if cell.data_type == "f":
                    cell.data_type = "s"


def write_frames(frames: dict[str, pd.DataFrame], path: str | Path) -> list[Path]:
    """Write several frames: as sheets of one spreadsheet (.xlsx), layers of one GeoPackage,
    or CSV files, the first at ``path`` and the others beside it as ``<stem>_<name>.csv``.
    Returns the files written."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in REPORT_SUFFIXES:
        raise InputError(f"cannot write results to '{path.name}': expected {', '.join(REPORT_SUFFIXES)}")
    if suffix == ".xlsx":
        write_workbook(frames, path)
        return [path]
    if suffix == ".gpkg":
        if path.exists():
            path.unlink()
        for name, frame in frames.items():
            write_frame(frame, path, layer=name)
        return [path]
    written = []
    for i, (name, frame) in enumerate(frames.items()):
        target = path if i == 0 else path.with_name(f"{path.stem}_{name}.csv")
        written.append(write_frame(frame, target, layer=name))
    return written


def export_layer(engine: Engine, layer: str, path: str | Path) -> int:
    """Write a stored layer to ``path``; returns the number of features written. Its whole-number
    columns stay whole numbers where some are missing (an id with gaps is read as floats: a
    GeoPackage would hold it as a real field, a CSV write 22.0)."""
    frame = read_layer(engine, layer)
    whole = [c.name for c in layer_spec(layer).columns if c.kind == "int" and c.name in frame.columns]
    frame = frame.astype({c: "Int64" for c in whole})
    write_frame(frame.reset_index(drop=True), path, layer=layer)
    return len(frame)
