"""Committee files in the encodings they come in: CSV and Shapefile attributes in UTF-8 (with
and without a byte-order mark), GBK, GB18030 and Big5 import with their text intact, on both
databases; a guess is said; a declared encoding that garbles the text is refused, by row and
field, with nothing written."""

from __future__ import annotations

import zipfile

import geopandas as gpd
import pytest
import shapely

from gridmap.errors import InputError
from gridmap.io.encoding import garbled
from gridmap.io.importer import import_layer
from gridmap.store.layers import layer_version, read_layer
from gridmap_cli import main

SIMPLIFIED = ["大安中路社区卫生服务站", "顺城大街养老驿站", "𠮷祥里党建驿站"]  # 𠮷 is in GB18030, not GBK
TRADITIONAL = ["大安中路社區衛生服務站", "順城大街養老驛站", "吉祥里黨建驛站"]
NAMES = {"utf-8": SIMPLIFIED, "utf-8-sig": SIMPLIFIED, "gbk": SIMPLIFIED[:2], "gb18030": SIMPLIFIED,
         "big5": TRADITIONAL}  # fmt: skip
POINTS = [(104.0801, 30.6702), (104.0751, 30.6652), (104.0701, 30.6602)]


def _csv(path, encoding: str):
    names = NAMES[encoding]
    rows = ["name,categories,lon,lat"] + [
        f"{n},clinic,{x},{y}" for n, (x, y) in zip(names, POINTS, strict=False)
    ]
    path.write_bytes(("\r\n".join(rows) + "\r\n").encode(encoding))  # as Excel saves it
    return path


def _shapefile(folder, encoding: str, *, cpg: bool):
    names = NAMES[encoding]
    frame = gpd.GeoDataFrame(
        {"name": names, "categories": ["clinic"] * len(names)},
        geometry=[shapely.Point(p) for p in POINTS[: len(names)]],
        crs=4326,
    )
    path = folder / "stations.shp"
    frame.to_file(path, encoding=encoding, engine="pyogrio")
    if not cpg:
        path.with_suffix(".cpg").unlink(missing_ok=True)
    return path


def _names(engine) -> list[str]:
    return sorted(read_layer(engine, "facilities")["name"])


@pytest.mark.parametrize("encoding", sorted(NAMES))
def test_a_csv_in_each_encoding_imports_with_its_text_intact(engine, tmp_path, encoding):
    path = _csv(tmp_path / "stations.csv", encoding)
    report = import_layer(engine, "facilities", path, source_crs="EPSG:4326")
    assert _names(engine) == sorted(NAMES[encoding])
    said = [str(w) for w in report.warnings if "read as" in w.message]
    if encoding.startswith("utf-8"):
        assert said == []
    else:
        expected = "Big5" if encoding == "big5" else "GB18030 (GBK)"
        assert len(said) == 1 and f"read as {expected}, detected" in said[0]


@pytest.mark.parametrize("encoding", ["gbk", "gb18030"])
def test_a_shapefile_without_cpg_is_read_as_its_bytes_say(engine, tmp_path, encoding):
    path = _shapefile(tmp_path, encoding, cpg=False)
    report = import_layer(engine, "facilities", path)
    assert _names(engine) == sorted(NAMES[encoding])
    assert any("detected from its bytes" in w.message for w in report.warnings)


def test_a_zipped_shapefile_without_cpg_and_one_with_cpg(engine, tmp_path):
    _shapefile(tmp_path, "gbk", cpg=False)
    archive = tmp_path / "stations.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for part in tmp_path.glob("stations.*"):
            if part.suffix != ".zip":
                z.write(part, part.name)
    import_layer(engine, "facilities", archive)
    assert _names(engine) == sorted(NAMES["gbk"])
    archive.rename(tmp_path / "stations.shp.zip")  # as some portals name them
    import_layer(engine, "facilities", tmp_path / "stations.shp.zip", mode="replace")
    assert _names(engine) == sorted(NAMES["gbk"])
    folder = tmp_path / "with_cpg"
    folder.mkdir()
    report = import_layer(engine, "facilities", _shapefile(folder, "gbk", cpg=True), mode="replace")
    assert _names(engine) == sorted(NAMES["gbk"])
    assert not any("read as" in w.message for w in report.warnings)  # the .cpg said it


def test_a_declared_encoding_is_used_and_not_called_a_guess(engine, tmp_path):
    report = import_layer(engine, "facilities", _csv(tmp_path / "s.csv", "gbk"), source_crs="EPSG:4326",
                          encoding="GBK")  # fmt: skip
    assert _names(engine) == sorted(NAMES["gbk"])
    assert not any("read as" in w.message for w in report.warnings)


def test_a_wrong_declaration_that_garbles_the_text_is_refused_by_row_and_field(engine, tmp_path):
    before = layer_version(engine, "facilities")
    path = _csv(tmp_path / "s.csv", "gbk")
    with pytest.raises(InputError) as caught:
        import_layer(engine, "facilities", path, source_crs="EPSG:4326", encoding="latin-1")
    problems = caught.value.problems
    assert [(p.feature, p.field) for p in problems] == [(0, "name"), (1, "name")]
    assert "wrong encoding" in problems[0].message and "--encoding" in problems[0].message
    shp = _shapefile(tmp_path, "gbk", cpg=False)
    with pytest.raises(InputError, match="wrong encoding"):
        import_layer(engine, "facilities", shp, encoding="cp1252")
    assert len(read_layer(engine, "facilities")) == 0 and layer_version(engine, "facilities") == before


def test_bytes_no_encoding_reads_and_an_unknown_name_are_refused(engine, tmp_path):
    path = tmp_path / "s.csv"
    path.write_bytes("name,categories,lon,lat\n大安站,clinic,104.08,30.67\n".encode("gbk"))
    with pytest.raises(InputError, match="line 2 cannot be read as utf-8"):
        import_layer(engine, "facilities", path, source_crs="EPSG:4326", encoding="utf-8")
    with pytest.raises(InputError, match="unknown text encoding 'klingon'"):
        import_layer(engine, "facilities", path, source_crs="EPSG:4326", encoding="klingon")


def test_the_command_line_takes_an_encoding_and_says_its_guess(tmp_path, capsys):
    db = f"sqlite:///{tmp_path / 'g.sqlite'}"
    assert main(["--db", db, "db", "init"]) == 0
    path = _csv(tmp_path / "s.csv", "gb18030")
    assert main(["--db", db, "import", "facilities", str(path), "--source-crs", "EPSG:4326"]) == 0
    assert "read as GB18030 (GBK), detected from its bytes" in capsys.readouterr().err
    code = main(["--db", db, "import", "facilities", str(path), "--source-crs", "EPSG:4326",
                 "--encoding", "latin-1"])  # fmt: skip
    assert code == 2 and "looks like text read in the wrong encoding" in capsys.readouterr().err


def test_garbled_knows_mojibake_from_real_text():
    for text in SIMPLIFIED + TRADITIONAL:
        assert not garbled(text)
        for wrong in ("latin-1", "cp1252"):
            for right in ("utf-8", "gbk", "big5"):
                try:
                    mojibake = text.encode(right).decode(wrong)
                except (UnicodeEncodeError, UnicodeDecodeError):
                    continue
                assert garbled(mojibake), (text, right, wrong, mojibake)
    for fine in ("Café Müller", "Zürich Straße", "No. 5 Bldg", "°C", "北京 Peking", "ÀÉ"):
        assert not garbled(fine), fine
