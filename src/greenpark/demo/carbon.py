"""Carbon sections of the demo park (issue 3): grid level, green-power contracts, GECs, process emissions, targets.

Called from :func:`greenpark.demo.generate` with the generated meter tables. Everything is derived
deterministically from them, so that the demo shows each case the carbon accounts handle:

- ``[carbon]``: provincial grid factor of the park's province (Jiangsu), market-based residual, calendar-year
  certificate matching; dual-control CO2 on location-based Scope 2 (the MEE rule for deducting green power
  in enterprise GHG reports was not read: UNVERIFIED);
- a green-power contract (the data centre, offshore wind), GEC ranges of three enterprises, and one
  deliberate double registration: E13 registers 1,000 serials that E16 registered too. The import rejects
  both registrations (park.toml does not say which one is right) and the scorecard names both uses;
- process emissions of one battery plant (lithium carbonate decomposition in cathode calcination), a
  USER factor with its provenance;
- dual-control targets of the park and of five enterprises whose caps are set from the demo's own
  activity so that the statuses differ (on track, at risk, exceeded). The caps are demo numbers, not
  allocations of any authority; they are marked as such in ``source``.

The fuels of the demo are the metered natural gas and diesel (C2+ / C1 parameters). No LPG or coal
boiler is added: the GB/T 2589 coefficient of LPG is UNVERIFIED (carriers.csv), and a coal boiler would
need the raw-coal parameters, which are not in the default table.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from greenpark import reference
from greenpark.core import carbon

#: GEC serial prefixes of the demo (a made-up format: GEC + vintage + province code + 10 digits)
_JS = "GEC{year}JS"
_QH = "GEC{year}QH"
#: stoichiometric CO2 of Li2CO3 -> Li2O + CO2 [tCO2/t], from IUPAC standard atomic weights
#: (Li 6.94, C 12.011, O 15.999): 44.009 / 73.888
LI2CO3_FACTOR = round((12.011 + 2 * 15.999) / (2 * 6.94 + 12.011 + 3 * 15.999), 4)


def _serial(prefix: str, n: int) -> str:
    return f"{prefix}{n:010d}"


def _activity(meters: list[dict], tables: dict[str, list[pa.Table]], diesel_rows: list[tuple], year: int
              ) -> pd.DataFrame:
    """Monthly activity of the interval top-level meters (the carbon core's activity contract)."""
    m = pd.DataFrame(meters)
    for col in ("parent", "kind", "renewable_generation", "export"):
        if col not in m.columns:
            m[col] = None
    top = m[m["parent"].isna() & (m["kind"].fillna("interval") == "interval")].copy()
    top["flow"] = np.select([top["export"].fillna(False).astype(bool),
                             top["renewable_generation"].fillna(False).astype(bool),
                             top["carrier"] == "electricity"],
                            ["export", "onsite_renewable", "grid_import"], "delivered")
    parts = [t for name in ("elec", "pv", "gas_steam") for t in tables[name]]
    data = pa.concat_tables(parts).to_pandas()
    data = data[data["meter_id"].isin(top["id"])]
    ts = pd.to_datetime(data["timestamp"], format="%Y-%m-%dT%H:%M") - pd.Timedelta(minutes=1)  # interval end
    data = data.assign(month=ts.dt.to_period("M").dt.to_timestamp())
    if diesel_rows:
        d = pd.DataFrame(diesel_rows, columns=["meter_id", "timestamp", "value", "unit"])
        d["month"] = pd.to_datetime(d["timestamp"]).dt.to_period("M").dt.to_timestamp()  # interval start
        data = pd.concat([data, d[["meter_id", "value", "month"]]], ignore_index=True)
    data = data[data["month"].dt.year == year]
    g = data.groupby(["meter_id", "month"], as_index=False)["value"].sum()
    g = g.merge(top[["id", "owner", "carrier", "unit", "flow"]], left_on="meter_id", right_on="id")
    g = g.rename(columns={"owner": "enterprise_id", "value": "quantity"})
    return g.groupby(["enterprise_id", "month", "carrier", "flow", "unit"], as_index=False)["quantity"].sum()


def _energy_tce(act: pd.DataFrame) -> pd.Series:
    """GB/T 2589-2020 tce per enterprise of the activity (default coefficients of carriers.csv) [tce]."""
    carriers = {r["id"]: r for r in reference.load("carriers").rows}
    coefs = reference.load("gbt2589_coefficients")
    a = act[~act["carrier"].map(lambda c: bool(carriers[c]["working_medium"]))].copy()
    kgce = a["carrier"].map(lambda c: float(coefs.get(carriers[c]["default_coefficient"])["value"]))
    per = a["carrier"].map(lambda c: coefs.get(carriers[c]["default_coefficient"])["unit"].split("/", 1)[1])
    conv = pd.Series([carbon._factor(u, p) for u, p in zip(a["unit"], per, strict=True)], index=a.index)
    sign = np.where(a["flow"] == "export", -1.0, 1.0)
    a["tce"] = sign * a["quantity"] * conv * kgce / 1000.0
    return a.groupby("enterprise_id")["tce"].sum()


def _toml_list(values: list[float]) -> str:
    return "[" + ", ".join(f"{v:g}" for v in values) + "]"


def carbon_toml(park_id: str, year: int, ents: list[tuple], meters: list[dict], tables: dict[str, list[pa.Table]],
                diesel_rows: list[tuple], seed: int = 2025) -> str:
    """park.toml text of the demo's carbon sections (module docstring)."""
    rng = np.random.default_rng(seed + 3)  # own stream: the other demo extras are unaffected
    js, qh = _JS.format(year=year), _QH.format(year=year)
    va = {e[0]: e[5] for e in ents}
    out = [f"""
# --- carbon accounts (greenpark carbon, greenpark targets); README "Carbon sections" ---------------
[carbon]
method = "both"                      # show location- and market-based Scope 2
level = "provincial"                 # grid factor of park.province (jiangsu)
factor_year_rule = "latest_published"
certificate_matching = "calendar_year"
targets_method = "location"          # dual-control CO2 on location-based Scope 2
targets_energy = "gbt2589"

# Green-power contract of the data centre (offshore wind) and GEC ranges (1 GEC = 1 MWh).
[[certificates]]
id = "GPC-{year}-E27-RUDONG"
kind = "green_power_contract"
enterprise = "E27"
mwh = 9000.0
generation_start = {year}-01-01
generation_end = {year}-12-31
project = "如东海上风电 Rudong offshore wind"
province = "jiangsu"

[[certificates]]
id = "GEC-{year}-E19-H1"
kind = "gec"
enterprise = "E19"
serial_start = "{_serial(js, 120_001)}"
serial_end = "{_serial(js, 124_000)}"
mwh = 4000.0
generation_start = {year}-01-01
generation_end = {year}-06-30
project = "盐城渔光互补光伏 Yancheng fishery-PV"
province = "jiangsu"

[[certificates]]
id = "GEC-{year}-E16-H2"
kind = "gec"
enterprise = "E16"
serial_start = "{_serial(js, 124_001)}"
serial_end = "{_serial(js, 126_500)}"
mwh = 2500.0
generation_start = {year}-07-01
generation_end = {year}-12-31
project = "盐城渔光互补光伏 Yancheng fishery-PV"
province = "jiangsu"

[[certificates]]
id = "GEC-{year}-E09-QH"
kind = "gec"
enterprise = "E09"
serial_start = "{_serial(qh, 300_001)}"
serial_end = "{_serial(qh, 301_200)}"
mwh = 1200.0
generation_start = {year}-03-01
generation_end = {year}-09-30
project = "青海共和光伏 Gonghe PV (cross-province)"
province = "qinghai"

# A deliberate double registration: these 1,000 serials are also in GEC-{year}-E16-H2. The import
# rejects both registrations and names both uses; fix park.toml to count either.
[[certificates]]
id = "GEC-{year}-E13-RESOLD"
kind = "gec"
enterprise = "E13"
serial_start = "{_serial(js, 125_501)}"
serial_end = "{_serial(js, 126_500)}"
mwh = 1000.0
generation_start = {year}-07-01
generation_end = {year}-12-31
project = "盐城渔光互补光伏 Yancheng fishery-PV (resold by a broker)"
province = "jiangsu"
"""]
    # process emissions of one battery plant, following its electricity month by month
    act = _activity(meters, tables, diesel_rows, year)
    e15 = act[(act["enterprise_id"] == "E15") & (act["carrier"] == "electricity") & (act["flow"] == "grid_import")]
    monthly = e15.groupby(e15["month"].dt.month)["quantity"].sum().reindex(range(1, 13), fill_value=0.0)
    li2co3 = np.round(monthly / monthly.mean() * rng.uniform(35, 50), 1).tolist() if monthly.sum() > 0 else [0.0] * 12
    out.append(f"""[[process_emissions]]
id = "E15-CALCINATION-{year}"
enterprise = "E15"
process = "lithium carbonate decomposition (cathode calcination)"
year = {year}
monthly_quantity = {_toml_list(li2co3)}   # Li2CO3 fed to the kilns [t]
unit = "t"
factor = {LI2CO3_FACTOR}
factor_unit = "tCO2/t"
source = "demo assumption: complete decomposition Li2CO3 -> Li2O + CO2, 44.009/73.888 from IUPAC atomic weights; replace with the plant's mass balance"
""")
    # caps derived from the demo's own activity so that the statuses differ
    proc = pd.DataFrame([{"enterprise_id": "E15", "month": pd.Timestamp(year, m + 1, 1), "process": "calcination",
                          "quantity": q, "unit": "t", "factor": LI2CO3_FACTOR, "factor_unit": "tCO2/t",
                          "source": "demo"} for m, q in enumerate(li2co3)])
    res = carbon.account(act, year, method="location", level="provincial", region="jiangsu", process=proc)
    co2 = res.enterprises.set_index("id")["total_t"]
    tce = _energy_tce(act)
    src = f"demo cap (not an allocation of any authority), set by greenpark demo for {year}"
    targets = [
        ("E27", "co2_t", co2.get("E27", 0) * 1.12, "on track"),
        ("E19", "co2_t", co2.get("E19", 0) / 0.975, "at risk"),
        ("E02", "co2_t", co2.get("E02", 0) * 0.94, "exceeded"),
        ("E15", "co2_intensity", co2.get("E15", 0) / va["E15"] * 1.08, "on track"),
        ("E17", "energy_intensity", tce.get("E17", 0) / va["E17"] / 0.97, "at risk"),
        # park caps: the two register-read plants (E03, E10) are not in these estimates, hence the margin
        (park_id, "co2_t", co2.sum() * 1.25, "on track"),
        (park_id, "energy_tce", tce.sum() * 1.25, "on track"),
        (park_id, "co2_intensity", co2.sum() / sum(va.values()) * 1.25, "on track"),
    ]
    for entity, metric, cap, note in targets:
        nd = 4 if "intensity" in metric else 0
        out.append(f"""[[targets]]                          # demo: expected status {note}
entity = "{entity}"
year = {year}
metric = "{metric}"
cap = {round(float(cap), nd)}
source = "{src}"
""")
    return "\n".join(out)
