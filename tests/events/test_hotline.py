"""A 12345-hotline export as events: rows placed by GCJ-02 coordinates and routed, categories
mapped by a table, every bad row listed with nothing written, and the same export twice
changing nothing."""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import pytest

from gridmap.crs import wgs84_to_gcj02
from gridmap.errors import InputError
from gridmap.io.hotline import import_hotline, read_category_map
from gridmap.store.layers import layer_version, read_layer
from gridmap_cli import main


def _export(path, engine, *, bad: bool = False):
    """Four calls at grids' points, saved as the hotline's system does: GCJ-02, GBK, local time."""
    grids = read_layer(engine, "grids").iloc[:4]
    points = grids.geometry.representative_point()
    lon, lat = wgs84_to_gcj02(points.x.to_numpy(), points.y.to_numpy())
    frame = pd.DataFrame({
        "工单号": [f"{path.stem}-{i}" for i in range(1, 5)],  # tickets of this export
        "受理时间": ["2026-11-02 09:15", "2026-11-02 10:40", "2026-11-03 14:05", "2026-11-04 08:30"],
        "诉求类别": ["垃圾清运", "路灯不亮", "噪音扰民", "垃圾清运"],
        "诉求内容": ["楼下垃圾未清运", "3栋门口路灯不亮", "夜间装修噪音", "垃圾桶满溢"],
        "经度": np.round(lon, 7), "纬度": np.round(lat, 7),
    })  # fmt: skip
    if bad:
        frame.loc[1, "受理时间"] = "昨天"
        frame.loc[2, "诉求类别"] = "其他事项"
        frame.loc[3, "经度"], frame.loc[3, "纬度"] = 104.5, 30.2
    frame.to_csv(path, index=False, encoding="gbk")
    return grids


def _category_map(path):
    pd.DataFrame({"text": ["垃圾清运", "路灯不亮", "噪音扰民"],
                  "category": ["environment", "road_lighting", "neighbour_dispute"]}).to_csv(path, index=False)  # fmt: skip
    return read_category_map(path)


def test_a_hotline_export_is_placed_routed_and_imported_once(demo_engine, tmp_path):
    grids = _export(tmp_path / "12345.csv", demo_engine)
    mapping = _category_map(tmp_path / "map.csv")
    report = import_hotline(demo_engine, tmp_path / "12345.csv", source_crs="gcj02", category_map=mapping)
    assert len(report.filed) == 4 and report.already == 0
    events = read_layer(demo_engine, "events").loc[report.filed].sort_values("external_id")
    assert list(events["grid_id"]) == list(grids.index)  # the GCJ-02 points landed in their grids
    assert list(events["category"]) == ["environment", "road_lighting", "neighbour_dispute", "environment"]
    assert set(events["source"]) == {"hotline"} and events["description"].iloc[0] == "楼下垃圾未清运"
    assert pd.Timestamp(events["filed_at"].iloc[0]) == pd.Timestamp("2026-11-02 01:15")  # 09:15 in Beijing
    version = layer_version(demo_engine, "events")
    again = import_hotline(demo_engine, tmp_path / "12345.csv", source_crs="gcj02", category_map=mapping)
    assert (again.filed, again.already) == ([], 4) and layer_version(demo_engine, "events") == version


def test_every_bad_row_is_listed_and_nothing_is_written(demo_engine, tmp_path):
    _export(tmp_path / "bad.csv", demo_engine, bad=True)
    mapping = _category_map(tmp_path / "map.csv")
    version = layer_version(demo_engine, "events")
    with pytest.raises(InputError) as exc:
        import_hotline(demo_engine, tmp_path / "bad.csv", source_crs="gcj02", category_map=mapping)
    text = str(exc.value)
    assert "row 3, field 'received_at': '昨天' is not a time" in text
    assert "row 4, field 'category_text': category '其他事项' is not in the category map" in text
    assert "row 5, field 'geometry'" in text and "outside every grid" in text
    assert layer_version(demo_engine, "events") == version
    with pytest.raises(InputError, match="no CRS: declare it with --source-crs"):
        import_hotline(demo_engine, tmp_path / "bad.csv", category_map=mapping)


def test_the_command_imports_with_a_dry_run_first(demo_engine, tmp_path, capsys):
    _export(tmp_path / "cli.csv", demo_engine)
    pd.DataFrame({"text": ["垃圾清运", "路灯不亮", "噪音扰民"],
                  "category": ["environment", "road_lighting", "neighbour_dispute"]}).to_csv(tmp_path / "m.csv", index=False)  # fmt: skip
    db = ["--db", demo_engine.url.render_as_string(hide_password=False)]
    args = [*db, "events", "import", str(tmp_path / "cli.csv"), "--source-crs", "gcj02", "--category-map",
            str(tmp_path / "m.csv")]  # fmt: skip
    assert main([*args, "--dry-run"]) == 0
    assert "dry run, nothing written: would file 4 hotline event(s)" in capsys.readouterr().out
    assert main(args) == 0
    assert "filed 4 hotline event(s)" in capsys.readouterr().out


def test_an_excel_export_reads_the_same(demo_engine, tmp_path):
    _export(tmp_path / "xl.csv", demo_engine, bad=True)
    pd.read_csv(tmp_path / "xl.csv", encoding="gbk").to_excel(tmp_path / "xl.xlsx", index=False)
    with pytest.raises(InputError) as exc:
        import_hotline(
            demo_engine,
            tmp_path / "xl.xlsx",
            source_crs="gcj02",
            category_map=_category_map(tmp_path / "m.csv"),
        )
    assert "xl.xlsx, row 3, field 'received_at'" in str(exc.value)


def test_two_imports_of_one_export_at_once_file_each_ticket_once(demo_engine, tmp_path):
    """Both read the stored tickets before either writes: the second, under the events' lock,
    finds them filed and counts them as already there."""
    _export(tmp_path / "twice.csv", demo_engine)
    mapping = _category_map(tmp_path / "map.csv")
    reports: list = []

    def run() -> None:
        reports.append(
            import_hotline(demo_engine, tmp_path / "twice.csv", source_crs="gcj02", category_map=mapping)
        )

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted((len(r.filed), r.already) for r in reports) == [(0, 4), (4, 0)]
    events = read_layer(demo_engine, "events")
    assert events["external_id"].str.startswith("twice-").sum() == 4


def test_a_ticket_twice_in_one_export_is_one_call_and_a_time_ahead_is_refused(demo_engine, tmp_path):
    _export(tmp_path / "dup.csv", demo_engine)
    frame = pd.read_csv(tmp_path / "dup.csv", encoding="gbk")
    frame.loc[1, "工单号"] = frame.loc[0, "工单号"]  # the call exported twice
    frame.to_csv(tmp_path / "dup.csv", index=False, encoding="gbk")
    mapping = _category_map(tmp_path / "map.csv")
    report = import_hotline(demo_engine, tmp_path / "dup.csv", source_crs="gcj02", category_map=mapping)
    assert (len(report.filed), report.already) == (3, 1)
    frame.loc[2, "受理时间"] = "2099-11-03 14:05"
    frame.loc[2, "工单号"] = "ahead-1"
    frame.to_csv(tmp_path / "ahead.csv", index=False, encoding="gbk")
    version = layer_version(demo_engine, "events")
    with pytest.raises(InputError, match="row 4, field 'received_at': '2099-11-03 14:05' lies in the future"):
        import_hotline(demo_engine, tmp_path / "ahead.csv", source_crs="gcj02", category_map=mapping)
    assert layer_version(demo_engine, "events") == version
