"""Messages a new user meets (issue 16 #9): common spellings of station parameters, pH in unit pH,
plurals, valid grid regions, register_rollover on interval meters, steam in GJ, and the README."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from greenpark import park as park_mod
from greenpark.core import carbon, units
from greenpark.findings import plural
from greenpark.ingest import ingest_file

from conftest import NOW, SMALL_PARK, write

README = Path(__file__).resolve().parents[1] / "README.md"


def q(store, sql, *params):
    return store.con.execute(sql, list(params)).fetchall()


def test_common_spellings_of_parameters_are_accepted(tmp_path, env_store):
    f = write(tmp_path / "a.csv", """station_id,timestamp,parameter,value,unit
        AQ1,2025-01-01 01:00,PM2.5,35,
        AQ1,2025-01-01 02:00,pm2.5,36,
        AQ1,2025-01-01 03:00,PM25,37,
        AQ1,2025-01-01 04:00, so2 ,5,
        AQ1,2025-01-01 05:00,二氧化氮,20,
        W1,2025-01-15,NH3-N,0.4,mg/L
        W1,2025-01-15,pH,7.2,pH
        W1,2025-01-16,pH,7.4,
        WX1,2025-01-01 01:00,Temp,3,degC
        """)
    res = ingest_file(env_store, f, now=NOW)
    assert res.rejected == 0, q(env_store, "SELECT reason, detail FROM quarantine")
    rows = q(env_store, "SELECT station_id, parameter, value FROM observations ORDER BY 1, 2, 3")
    assert [r for r in rows if r[0] == "AQ1"] == [("AQ1", "no2", 20.0), ("AQ1", "pm25", 35.0), ("AQ1", "pm25", 36.0),
                                                 ("AQ1", "pm25", 37.0), ("AQ1", "so2", 5.0)]
    assert ("W1", "nh3n", 0.4) in rows and ("W1", "ph", 7.2) in rows and ("W1", "ph", 7.4) in rows
    assert ("WX1", "temperature", 3.0) in rows


def test_unknown_parameter_says_an_air_station_and_lists_the_valid_ones(tmp_path, env_store):
    f = write(tmp_path / "a.csv", "station_id,timestamp,parameter,value\nAQ1,2025-01-01 01:00,pm1,35\n"
                                  "W1,2025-01-01 01:00,pm25,3\n")
    ingest_file(env_store, f, now=NOW)
    details = dict(q(env_store, "SELECT line_no, detail FROM quarantine WHERE reason = 'unknown_parameter'"))
    assert details[2] == "parameter 'pm1' for an air station; valid: so2, no2, pm10, pm25, co, o3"
    assert details[3].startswith("parameter 'pm25' for a water station; valid: ph, do, codmn")


def test_ph_is_a_dimensionless_unit():
    assert units.conversion_affine("pH", "1") == (1.0, 0.0)


def test_plural():
    assert plural(1, "serial") == "1 serial" and plural(1000, "serial") == "1000 serials"
    assert plural(2, "meter") == "2 meters" and plural(0, "entry", "entries") == "0 entries"


def test_one_serial_registered_twice_is_singular():
    c = pd.DataFrame([dict(id="A", kind="gec", enterprise_id="E1", serial_start="S1", serial_end="S9", mwh=9,
                           generation_start="2025-01-01", generation_end="2025-01-31"),
                      dict(id="B", kind="gec", enterprise_id="E2", serial_start="S5", serial_end="S5", mwh=1,
                           generation_start="2025-01-01", generation_end="2025-01-31")])
    _, rej, _ = carbon.screen_certificates(c)
    assert rej["message"].str.contains(r"\(1 serial, trailing digits 5\.\.5\)").all(), rej["message"].tolist()


@pytest.mark.parametrize(("level", "region", "expect"), [
    ("provincial", "atlantis", "unknown province 'atlantis' for level provincial (basis average); valid: anhui, "),
    ("regional", "jiangsu", "unknown grid region 'jiangsu' for level regional (basis average); valid: central_china, "),
])
def test_unknown_grid_region_lists_the_valid_ids_without_nan(level, region, expect):
    with pytest.raises(carbon.CarbonError) as ei:
        carbon.select_electricity_factor(2025, level=level, region=region)
    msg = str(ei.value)
    assert msg.startswith(expect) and not re.search(r"\bnan\b", msg)
    with pytest.raises(carbon.CarbonError) as ei:
        carbon.select_electricity_factor(2025, level="provincial", region="jiangsu", basis="residual")
    assert not re.search(r"\bnan\b", str(ei.value)) and str(ei.value).endswith(", residual/national")


def _park_with(tmp_path: Path, meter: str) -> Path:
    p = tmp_path / "park.toml"
    p.write_text(textwrap.dedent(SMALL_PARK) + textwrap.dedent(meter), encoding="utf-8")
    return p


def test_register_rollover_on_an_interval_meter_is_refused(tmp_path):
    p = _park_with(tmp_path, """
        [[meters]]
        id = "X-EL"
        owner = "E1"
        carrier = "electricity"
        unit = "kWh"
        register_rollover = 100000
        """)
    with pytest.raises(park_mod.ParkError, match=r"meters 'X-EL': register_rollover applies to cumulative meters only"):
        park_mod.load(p)
    p.write_text(p.read_text(encoding="utf-8").replace("register_rollover = 100000\n",
                                                       'register_rollover = 100000\nkind = "cumulative"\n'),
                 encoding="utf-8")
    assert park_mod.load(p).meter("X-EL").register_rollover == 100000


def test_steam_in_gj_points_to_carrier_heat(tmp_path):
    p = _park_with(tmp_path, """
        [[meters]]
        id = "X-ST"
        owner = "E1"
        carrier = "steam"
        unit = "GJ"
        """)
    with pytest.raises(park_mod.ParkError, match=r"meters 'X-ST': unit 'GJ' cannot be converted .*carrier \"heat\""):
        park_mod.load(p)


def test_readme_documents_readings_water_keys_and_required_enterprise_fields():
    text = README.read_text(encoding="utf-8")
    assert re.search(r"greenpark readings \S+", text), "README: no 'greenpark readings METER' example"
    water = text[text.index("`greenpark water` classifies"):]
    for key in ("sections", "parameters", "good_share_pct", "class", "class_label", "meets_iii", "exceeding",
                "exceedance_multiple", "flags"):
        assert f"`{key}`" in water[:6000], f"README: water JSON key {key} not documented"
    sample = text[text.index("[[enterprises]]"):][:900]
    for field in ("id", "name_zh", "name_en", "industry"):
        assert re.search(rf"^{field} = .*# required", sample, re.M), f"README sample: {field} not marked required"


def test_aqi_calculator_accepts_common_column_spellings(tmp_path):
    from conftest import run

    f = tmp_path / "c.csv"
    f.write_text("date,PM2.5,PM10,SO2,NO2,CO,O3-8h\n2025-01-01,80,100,10,40,1.0,100\n", encoding="utf-8")
    p = run("aqi", str(f), "--daily", "--format", "csv", cwd=tmp_path, check=False)
    assert p.returncode == 0, p.stderr
    head, row = p.stdout.splitlines()[:2]
    assert head.startswith("date,pm25,pm10,so2,no2,co,o3_8h,") and ",107,PM2.5," in row  # IAQI PM2.5 80 -> 107
