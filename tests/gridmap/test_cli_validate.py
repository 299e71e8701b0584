"""``gridmap validate`` on the demo district and on a clean database."""

import pyogrio
import pytest

from gridmap.cli import main


@pytest.mark.slow
def test_validate_reports_findings_and_exits_1(demo_db, tmp_path, capsys):
    out = tmp_path / "findings.geojson"
    code = main(["--db", demo_db, "validate", "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 1
    assert "kind" in captured.out and "findings" in captured.out and "errors" in captured.err
    findings = pyogrio.read_dataframe(out)
    assert len(findings) > 0 and set(findings["severity"]) <= {"error", "warning"}
    assert findings.crs.to_epsg() == 4326
    assert {"kind", "feature_ids", "message", "area_m2"} <= set(findings.columns)


def test_validate_on_an_empty_database_is_clean(tmp_path, capsys):
    db = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    assert main(["--db", db, "db", "init"]) == 0
    assert main(["--db", db, "validate"]) == 0
    assert "no findings" in capsys.readouterr().out
