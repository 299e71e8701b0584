"""Read GeoPackage, GeoJSON, Shapefile (also zipped) and CSV into GeoDataFrames.

Reading converts nothing but column names (``field_map``) and text: CSV files and Shapefile
attributes are decoded as declared (``encoding``, or a Shapefile's ``.cpg``) or as detected
(:mod:`gridmap.io.encoding`), the choice kept in ``frame.attrs["encoding"]``, and values that
still read as garbled text are refused. The CRS conversion to EPSG:4326 is
:func:`gridmap.crs.to_storage_crs`, and validation is :mod:`gridmap.io.validate`.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely
from pyogrio.errors import DataLayerError, DataSourceError

from gridmap.errors import InputError, Problem
from gridmap.io.cells import apostrophes_off
from gridmap.io.encoding import NAME_IT, TextEncoding, codec, decode, detect, garbled

LON_NAMES = ("lon", "lng", "longitude", "x", "经度")
LAT_NAMES = ("lat", "latitude", "y", "纬度")
WKT_NAMES = ("wkt", "geometry", "geom", "the_geom")
GIS_SUFFIXES = (".gpkg", ".geojson", ".json", ".shp", ".zip", ".fgb", ".kml", ".gml")


def parse_field_map(text: str | None) -> dict[str, str]:
    """Parse ``a=b,c=d`` (file field ``a`` becomes layer column ``b``) into a dict."""
    if not text:
        return {}
    mapping: dict[str, str] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        if "=" not in part:
            raise InputError(f"--field-map entry '{part}' is not of the form FILE_FIELD=LAYER_COLUMN")
        src, dst = (s.strip() for s in part.split("=", 1))
        if not src or not dst:
            raise InputError(f"--field-map entry '{part}' has an empty side")
        mapping[src] = dst
    return mapping


def _find(columns: list[str], names: tuple[str, ...]) -> str | None:
    lowered = {c.lower(): c for c in columns}
    for name in names:
        if name in lowered:
            return lowered[name]
    return None


def _read_csv(path: Path, encoding: TextEncoding | None) -> tuple[pd.DataFrame, TextEncoding]:
    raw = path.read_bytes()
    try:
        encoding = encoding or detect(raw)
    except InputError as exc:
        raise InputError(str(exc), file=str(path)) from None
    text = decode(raw, encoding, file=str(path))
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_values=[""])
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(f"cannot read CSV: {exc}", file=str(path)) from None
    return _points_of(apostrophes_off(frame), path), encoding


#: spreadsheets read like a CSV (points in lon/lat or wkt columns); the first sheet unless named
SPREADSHEETS = (".xlsx",)


def _read_spreadsheet(path: Path, sheet: str | None) -> pd.DataFrame:
    """The first sheet of an Excel workbook (or ``sheet``), text as it is shown."""
    try:
        frame = pd.read_excel(path, sheet_name=sheet or 0, dtype=str, keep_default_na=False, na_values=[""])
    except (ValueError, OSError, KeyError) as exc:
        raise InputError(f"cannot read the workbook: {exc}", file=str(path)) from None
    return _points_of(apostrophes_off(frame), path)


def _points_of(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    """A CSV's table with its lon/lat or WKT columns made geometry (or as it is)."""
    lon_col, lat_col = _find(list(frame.columns), LON_NAMES), _find(list(frame.columns), LAT_NAMES)
    wkt_col = _find(list(frame.columns), WKT_NAMES)
    if lon_col and lat_col:
        lon = pd.to_numeric(frame[lon_col], errors="coerce")
        lat = pd.to_numeric(frame[lat_col], errors="coerce")
        problems = [
            Problem(
                f"'{frame.at[i, lon_col]}, {frame.at[i, lat_col]}' is not a pair of numbers",
                file=str(path),
                feature=int(i),
                field=f"{lon_col}/{lat_col}",
            )
            for i in frame.index[lon.isna() | lat.isna()]
        ]
        if problems:
            raise InputError(problems)
        geometry = gpd.points_from_xy(lon, lat)
        return gpd.GeoDataFrame(frame.drop(columns=[lon_col, lat_col]), geometry=geometry)
    if wkt_col:
        problems = []
        geoms = []
        for i, text in frame[wkt_col].items():
            try:
                geoms.append(shapely.from_wkt(text) if isinstance(text, str) else None)
            except shapely.errors.GEOSException as exc:
                problems.append(
                    Problem(f"not WKT geometry: {exc}", file=str(path), feature=int(i), field=wkt_col)
                )
                geoms.append(None)
        if problems:
            raise InputError(problems)
        return gpd.GeoDataFrame(frame.drop(columns=[wkt_col]), geometry=geoms)
    return frame


def file_suffix(path: str | Path) -> str:
    """The format's suffix, lower case: ``.csv``, ``.shp``, ``.zip`` or ``.shp.zip``..."""
    path = Path(path)
    return "".join(path.suffixes[-2:]).lower() if path.suffix.lower() == ".zip" else path.suffix.lower()


def is_dbf(path: str | Path) -> bool:
    """Whether the file's attributes are a DBF: a Shapefile, its .dbf, or a zip (of one)."""
    suffix = file_suffix(path)
    return suffix in (".shp", ".dbf") or suffix.endswith(".zip")


def _dbf_encoding(path: Path, suffix: str, declared: TextEncoding | None) -> TextEncoding | None:
    """How to read a Shapefile's attributes: as declared, as its .cpg says (GDAL reads that
    itself: None), or as detected from the .dbf when it has text beyond ASCII."""
    if declared is not None:
        return declared
    if suffix.endswith(".zip"):
        try:
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
                if any(n.lower().endswith(".cpg") for n in names):
                    return None
                dbfs = [n for n in names if n.lower().endswith(".dbf")]
                raw = archive.read(dbfs[0]) if len(dbfs) == 1 else b""
        except (zipfile.BadZipFile, OSError):
            return None  # GDAL says what is wrong with the archive
    else:
        if any(path.with_suffix(s).exists() for s in (".cpg", ".CPG")):
            return None
        dbf = next((p for p in (path.with_suffix(".dbf"), path.with_suffix(".DBF")) if p.exists()), None)
        raw = dbf.read_bytes() if dbf is not None else b""
    if len(raw) < 32:
        return None
    records = raw[int.from_bytes(raw[8:10], "little") :]
    if records.isascii():
        return None
    try:
        return detect(records)
    except InputError as exc:
        raise InputError(str(exc), file=str(path)) from None


def _refuse_garbled(frame: pd.DataFrame, path: Path, encoding: TextEncoding | None) -> None:
    """Text values that read as Chinese in another encoding are refused, row and field named."""
    problems = []
    for column in frame.columns:
        values = frame[column]
        if column == getattr(frame, "_geometry_column_name", None) or not (
            pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values)
        ):
            continue
        for i, value in values.items():
            if isinstance(value, str) and garbled(value):
                problems.append(Problem(
                    f"'{value[:40]}' looks like text read in the wrong encoding"
                    + (f" ({encoding.name})" if encoding else "")
                    + f"; {NAME_IT}",
                    file=str(path), feature=int(i), field=str(column),
                ))  # fmt: skip
                if len(problems) >= 20:
                    raise InputError(problems)
    if problems:
        raise InputError(problems)


def read_file(
    path: str | Path,
    *,
    layer: str | None = None,
    field_map: Mapping[str, str] | None = None,
    encoding: str | None = None,
) -> pd.DataFrame:
    """Read a GIS file or CSV as a (Geo)DataFrame with its own CRS (None for CSV).

    CSV files carry points in ``lon``/``lat`` columns (also ``lng``, ``longitude``, ``x``/``y``)
    or geometry as WKT in a ``wkt`` column; a CSV with neither is read as a plain table.
    ``layer`` chooses a layer of a multi-layer file (GeoPackage); ``field_map`` renames columns;
    ``encoding`` (utf-8, gbk, gb18030, big5) names the text encoding of a CSV or a Shapefile's
    attributes, which is otherwise detected; ``frame.attrs["encoding"]`` says how text was read.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"file not found: {path}")
    suffix = file_suffix(path)
    declared = TextEncoding(codec(encoding), "declared") if encoding else None
    used: TextEncoding | None = declared
    if suffix == ".csv":
        frame, used = _read_csv(path, declared)
    elif suffix in SPREADSHEETS:
        frame, used = _read_spreadsheet(path, layer), None
    else:
        try:
            if layer is None and suffix == ".gpkg":
                layers = pyogrio.list_layers(path)
                if len(layers) > 1:
                    names = ", ".join(str(n) for n in layers[:, 0])
                    raise InputError(
                        f"the GeoPackage has several layers ({names}); choose one with --layer",
                        file=str(path),
                    )
            dbf = is_dbf(path)
            if dbf:
                used = _dbf_encoding(path, suffix, declared)
            options = {"encoding": used.name} if dbf and used is not None else {}
            frame = gpd.read_file(path, layer=layer, engine="pyogrio", **options)
        except (DataSourceError, DataLayerError) as exc:
            hint = "" if suffix in GIS_SUFFIXES else f" (is '{suffix}' a GIS format?)"
            raise InputError(
                f"cannot read the file: {exc}{hint}; it may be truncated or not a GIS file",
                file=str(path),
            ) from None
    _refuse_garbled(frame, path, used)
    if field_map:
        missing = [src for src in field_map if src not in frame.columns]
        if missing:
            raise InputError(
                f"--field-map names field(s) {', '.join(missing)} that the file does not have; "
                f"it has: {', '.join(map(str, frame.columns))}",
                file=str(path),
            )
        frame = frame.rename(columns=dict(field_map))
    frame.attrs["encoding"] = used
    return frame
