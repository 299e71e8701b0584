"""One check for every test that runs coverage in parts: the run equals one process's."""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from gridmap.coverage import CoverageResult


def assert_same_run(one: CoverageResult, parts: CoverageResult) -> None:
    """Every home, walk, nearest facility, figure, gap and circle alike."""
    a, b = one.homes, parts.homes
    assert list(zip(a["kind"], a["feature_id"], strict=True)) == list(
        zip(b["kind"], b["feature_id"], strict=True)
    )
    for key, dist in one.distances.items():
        np.testing.assert_allclose(parts.distances[key], dist, rtol=0, atol=1e-6, err_msg=str(key))
        np.testing.assert_array_equal(parts.nearest[key], one.nearest[key], err_msg=str(key))
    pd.testing.assert_frame_equal(parts.summary, one.summary)
    pd.testing.assert_frame_equal(parts.compounds, one.compounds)
    metric = one.homes.estimate_utm_crs()  # PROJ's own choice, looked up once
    for name in ("gaps", "circles"):
        x, y = getattr(one, name), getattr(parts, name)
        if name == "circles":  # they come as the parts come; gaps in one order, as one process's
            keys = ["facility_id", "category", "level"]
            x, y = (f.sort_values(keys, kind="stable").reset_index(drop=True) for f in (x, y))
        pd.testing.assert_frame_equal(
            pd.DataFrame(y.drop(columns="geometry")), pd.DataFrame(x.drop(columns="geometry"))
        )
        apart = shapely.symmetric_difference(
            x.to_crs(metric).geometry.values, y.to_crs(metric).geometry.values
        )
        assert len(x) == 0 or shapely.area(apart).max() < 1e-3, name  # square metres
