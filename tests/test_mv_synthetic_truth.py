"""The benchmark's meters with known truth (greenpark.core.mv.synthetic.truth_meter): the truth is exact."""

from __future__ import annotations

import numpy as np
import pytest

from greenpark.core.mv import day_types
from greenpark.core.mv import synthetic as syn


def test_twelve_meters_cover_the_archetypes():
    m = syn.TRUTH_METERS
    assert len(m) >= 12 and len({x["id"] for x in m}) == len(m)
    cooling_only = [x for x in m if "cool_slope" in x and "heat_slope" not in x and "prod" not in x]
    both = [x for x in m if "cool_slope" in x and "heat_slope" in x]
    prod = [x for x in m if "prod" in x]
    stops = [x for x in m if "prod" in x and x["prod"][2] == 0]
    assert len(cooling_only) >= 2 and len(both) >= 3 and len(prod) >= 4 and len(stops) >= 2


@pytest.mark.parametrize("spec", syn.TRUTH_METERS, ids=[m["id"] for m in syn.TRUTH_METERS])
def test_truth_is_counterfactual_minus_actual(spec):
    m = syn.truth_meter(spec, seed=1)
    e, cf = m["energy"], m["counterfactual"]
    after = e.index >= "2025-01-01"
    assert np.array_equal(e[~after].to_numpy(), cf[~after].to_numpy())        # baseline: no retrofit
    assert m["truth"]["avoided_energy"] == pytest.approx(float((cf - e)[after].sum()), rel=1e-12)
    assert (cf[after] >= e[after]).all() and m["truth"]["avoided_energy"] > 0
    again = syn.truth_meter(spec, seed=1)
    assert again["energy"].equals(e)                                           # deterministic per seed
    assert not syn.truth_meter(spec, seed=2)["energy"].equals(e)


def test_plants_stop_on_holidays_and_work_make_up_days():
    m = syn.truth_meter(next(x for x in syn.TRUTH_METERS if x["id"] == "nanjing-textile"), seed=1)
    kind = day_types(m["production"].index)[0].to_numpy()
    p = m["production"].to_numpy()
    assert (p[kind == "holiday"] == 0).all()
    assert p[kind == "makeup_workday"].mean() == pytest.approx(p[kind == "weekday"].mean(), rel=0.05)
