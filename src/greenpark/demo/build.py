"""Build the demo park: park.toml and a year of meter data files (the entry behind ``greenpark demo``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from greenpark.demo.series import calendar, frame, profile, pv_energy, year_index

#: industries: (count, annual electricity [MWh] range, shift pattern, gas, steam, diesel)
INDUSTRIES = {
    "die_casting": dict(n=6, mwh=(6000, 15000), shifts="three", gas=True, steam=False, diesel=True,
                        zh="压铸", uses=("melting furnaces", "compressed air")),
    "electronics": dict(n=8, mwh=(3000, 9000), shifts="two", gas=False, steam=True, diesel=False,
                        zh="电子", uses=("SMT lines", "clean-room HVAC")),
    "battery": dict(n=5, mwh=(8000, 20000), shifts="three", gas=True, steam=True, diesel=False,
                    zh="电池", uses=("formation and ageing", "dry rooms")),
    "precision_machining": dict(n=7, mwh=(1500, 5000), shifts="two", gas=False, steam=False, diesel=True,
                                zh="精密加工", uses=("CNC machining", "compressed air")),
    "data_centre": dict(n=1, mwh=(30000, 30000), shifts="flat", gas=False, steam=False, diesel=True,
                        zh="数据中心", uses=("IT load", "cooling")),
}
SURNAMES = ["华", "苏", "锦", "恒", "瑞", "腾", "新", "博", "盛", "宏", "佳", "天", "中", "金", "永", "德",
            "晨", "远", "嘉", "鑫", "东", "力", "正", "安", "信", "光", "通", "和", "诚", "达"]


@dataclass
class DemoFiles:
    park_toml: Path
    data_files: list[Path]


def generate(out_dir: str | Path, seed: int = 2025, year: int = 2025) -> DemoFiles:
    """Write park.toml and a year of meter data files into ``out_dir``; returns their paths."""
    rng = np.random.default_rng(seed)
    out = Path(out_dir)
    data = out / "data"
    data.mkdir(parents=True, exist_ok=True)
    cal = calendar(year)
    ts15 = year_index(year, 15)
    ts60 = year_index(year, 60)
    days = cal["days"]

    ents, meters, buildings, products = [], [], [], []
    tables: dict[str, list[pa.Table]] = {"elec": [], "sub": [], "pv": [], "gas_steam": [], "water": []}
    diesel_rows = []
    k = 0
    pv_plants = 0
    for industry, spec in INDUSTRIES.items():
        for i in range(spec["n"]):
            k += 1
            eid = f"E{k:02d}"
            zh = f"{SURNAMES[k - 1]}{'科技' if industry != 'die_casting' else '精密'}{spec['zh']}有限公司"
            en = f"{industry.replace('_', ' ').title()} Co. {k:02d}"
            mwh = rng.uniform(*spec["mwh"])
            va = mwh * rng.uniform(0.8, 2.2)          # value added [10k CNY]
            ov = va * rng.uniform(3.0, 4.5)           # output value [10k CNY]
            ents.append((eid, zh, en, industry, round(ov, 1), round(va, 1)))
            b_id = f"{eid}-B1"
            area = round(mwh * rng.uniform(2.0, 4.0), 0)
            buildings.append((b_id, f"{zh}1号厂房", f"{en} plant 1", eid, area,
                              "datacenter" if industry == "data_centre" else "factory"))
            prof = profile(ts15, cal, spec["shifts"], rng, cooling_share=0.35 if industry == "data_centre" else 0.18)
            kwh = prof / prof.sum() * mwh * 1000.0
            main = f"{eid}-EL-MAIN"
            kind = "interval"
            meter_extra = {}
            # sub-meters: two end uses metered, the rest is the unmetered remainder
            shares = rng.uniform(0.25, 0.45), rng.uniform(0.10, 0.25)
            subs = []
            for j, (use, share) in enumerate(zip(spec["uses"], shares, strict=True), start=1):
                sub_kwh = kwh * share * rng.normal(1.0, 0.02, kwh.size).clip(0.9, 1.1)
                sid = f"{eid}-EL-{j}"
                subs.append(sid)
                meters.append(dict(id=sid, owner=eid, carrier="electricity", unit="kWh", parent=main, end_use=use,
                                   building=b_id))
                tables["sub"].append(frame(sid, ts15, sub_kwh))
            # PV on several plants (on-site consumption; two export their surplus)
            if industry in ("electronics", "battery", "precision_machining") and i < 3:
                pv_plants += 1
                kwp = round(rng.uniform(400, 2500), 0)
                pv = pv_energy(ts15, cal, kwp, rng, 15)
                pid = f"{eid}-PV"
                meters.append(dict(id=pid, owner=eid, carrier="electricity", unit="kWh", renewable_generation=True,
                                   name=f"rooftop PV {kwp:.0f} kWp"))
                tables["pv"].append(frame(pid, ts15, pv))
                grid = kwh - pv
                if pv_plants in (1, 4):
                    exp = np.clip(-grid, 0, None)
                    xid = f"{eid}-EL-EXPORT"
                    meters.append(dict(id=xid, owner=eid, carrier="electricity", unit="kWh", export=True))
                    tables["pv"].append(frame(xid, ts15, exp))
                kwh_main = np.clip(grid, 0, None)
            else:
                kwh_main = kwh
            if k == 3:
                # a cumulative register with a meter replacement in June
                kind = "cumulative"
                reg = 1_234_567.0 + np.cumsum(kwh_main)
                cut = int(np.searchsorted(ts15, np.datetime64(f"{year}-06-15T10:00")))
                old_final = float(np.round(reg[cut - 1] + kwh_main[cut] * 0.4, 2))
                new_part = np.cumsum(kwh_main[cut:]) - kwh_main[cut] * 0.4
                reg = np.concatenate([reg[:cut], new_part])
                at = np.datetime_as_string(ts15[cut] - np.timedelta64(5, "m"), unit="m")
                meter_extra = dict(events=[dict(at=at, old_final=old_final, new_initial=0.0,
                                                note="meter replaced after a CT fault")])
                main_vals = reg
            elif k == 10:
                # a cumulative register with 6 digits that rolls over
                kind = "cumulative"
                reg = np.mod(987_000.0 + np.cumsum(kwh_main / 10.0), 1_000_000.0)  # multiplier 10 (CT ratio)
                meter_extra = dict(register_rollover=1_000_000.0, multiplier=10.0)
                main_vals = reg
            else:
                main_vals = kwh_main
            meters.insert(len(meters) - len(subs) - (1 if f"{eid}-PV" in [m["id"] for m in meters] else 0), dict(
                id=main, owner=eid, carrier="electricity", unit="kWh", kind=kind, building=b_id, **meter_extra))
            ts_main, vals_main = ts15, main_vals
            if k == 5:  # a two-day gap (data logger down)
                keep = (ts15 < np.datetime64(f"{year}-08-12T00:00")) | (ts15 > np.datetime64(f"{year}-08-14T00:00"))
                ts_main, vals_main = ts15[keep], main_vals[keep]
            if k == 8:  # stuck meter for a week: the register froze, interval values read 0
                stuck = (ts15 > np.datetime64(f"{year}-04-07T00:00")) & (ts15 <= np.datetime64(f"{year}-04-14T00:00"))
                vals_main = np.where(stuck, 0.0, vals_main)
            tables["elec"].append(frame(main, ts_main, vals_main, decimals=2))
            # natural gas [m3] and steam [t], hourly
            hprof = prof.reshape(-1, 4).mean(axis=1)
            if spec["gas"]:
                gas_m3 = hprof / hprof.sum() * mwh * rng.uniform(25, 60)
                gid = f"{eid}-NG"
                meters.append(dict(id=gid, owner=eid, carrier="natural_gas", unit="m3", interval_minutes=60,
                                   end_use="process heat"))
                tables["gas_steam"].append(frame(gid, ts60, gas_m3))
            if spec["steam"]:
                steam_t = hprof / hprof.sum() * mwh * rng.uniform(0.15, 0.35)
                sid = f"{eid}-ST"
                meters.append(dict(id=sid, owner=eid, carrier="steam", unit="t", interval_minutes=60))
                tables["gas_steam"].append(frame(sid, ts60, steam_t, decimals=4))
            water_t = hprof / hprof.sum() * mwh * rng.uniform(2.0, 6.0)
            wid = f"{eid}-WA"
            meters.append(dict(id=wid, owner=eid, carrier="water", unit="t", interval_minutes=60))
            tables["water"].append(frame(wid, ts60, water_t))
            if spec["diesel"]:
                did = f"{eid}-DSL"
                meters.append(dict(id=did, owner=eid, carrier="diesel", unit="kg", interval_minutes=1440,
                                   interval_label="start", end_use="forklifts and standby generators"))
                per_day = np.where(cal["work"], rng.uniform(20, 120), 0.0) * rng.uniform(0.6, 1.4, days.size)
                for d, v in zip(np.datetime_as_string(days), np.round(per_day, 1), strict=True):
                    diesel_rows.append((did, d, float(v), "kg"))  # building the Excel sheet row by row
            # one product per enterprise, monthly output following the load
            month_i = (ts15.astype("datetime64[M]") - np.datetime64(f"{year}-01")).astype(int).clip(0, 11)
            monthly = np.bincount(month_i, weights=prof, minlength=12)
            zh_p, en_p, unit = {"die_casting": ("铝合金压铸件", "aluminium die castings", "t"),
                                "electronics": ("印制电路板组件", "printed circuit board assemblies", "k pcs"),
                                "battery": ("锂电池电芯", "lithium-ion cells", "MWh"),
                                "precision_machining": ("精密零部件", "precision parts", "k pcs"),
                                "data_centre": ("机柜服务", "rack service", "rack-months")}[industry]
            per_unit = rng.uniform(0.5, 2.0)
            products.append((f"{eid}-P1", eid, zh_p, en_p, unit,
                             [round(float(x / monthly.mean() * mwh / 12 * per_unit), 1) for x in monthly]))
    # public buildings of the park administration
    park_id = "sip-gz"
    for j, (zh, en, typ, area, mwh) in enumerate([("园区管委会大楼", "Administration building", "office", 18000, 2100),
                                                  ("创新服务中心", "Innovation service centre", "public", 24000, 2600),
                                                  ("人才公寓", "Talent apartments", "public", 30000, 1800)], start=1):
        bid = f"PB{j}"
        buildings.append((bid, zh, en, park_id, area, typ))
        prof = profile(ts15, cal, "two", rng, cooling_share=0.45)
        kwh = prof / prof.sum() * mwh * 1000.0
        mid = f"{bid}-EL"
        meters.append(dict(id=mid, owner=park_id, carrier="electricity", unit="kWh", building=bid,
                           end_use="building services"))
        tables["elec"].append(frame(mid, ts15, kwh, decimals=2))

    # M&V (issue 5) hook: plant E01's retrofit saving in its furnace, compressed-air and main meters
    from greenpark.demo.mv import plant_retrofit_saving

    retrofit = plant_retrofit_saving(tables, year)
    files = []
    elec = pa.concat_tables(tables["elec"])
    # main meters as CSV, one file per quarter; plant one duplicated block in Q2
    q_of = pa.array((np.array(elec["timestamp"].to_numpy(zero_copy_only=False), dtype="datetime64[m]")
                     .astype("datetime64[M]").astype(int) % 12) // 3)
    for q in range(4):
        mask = pa.compute.equal(q_of, q)
        part = elec.filter(mask)
        if q == 1:
            part = pa.concat_tables([part, part.slice(1000, 96)])  # a logger re-sent one day's block
        f = data / f"electricity_main_{year}Q{q + 1}.csv"
        _write_csv(part, f)
        files.append(f)
    for name in ("sub", "pv", "gas_steam", "water"):
        f = data / f"{name}_{year}.parquet"
        pq.write_table(pa.concat_tables(tables[name]), f, compression="zstd")
        files.append(f)
    f = data / f"diesel_log_{year}.xlsx"
    _write_xlsx(diesel_rows, f)
    files.append(f)
    # the utility re-issues one day of E06's main meter with its CT-ratio error corrected (in MWh,
    # 2 % lower): corrections, the old values kept in history, unit conversion on the way
    e06 = elec.filter(pa.compute.and_(pa.compute.equal(elec["meter_id"], "E06-EL-MAIN"),
                                      pa.compute.starts_with(elec["timestamp"], f"{year}-03-03")))
    f = data / f"electricity_reissued_E06_{year}-03-03.csv"
    _write_csv(pa.table({"meter_id": e06["meter_id"], "timestamp": e06["timestamp"],
                         "value": pa.compute.round(pa.compute.multiply(e06["value"], 0.98 / 1000), 6),
                         "unit": pa.array(["MWh"] * e06.num_rows)}), f)
    files.append(f)
    # a file of bad rows, as a gateway under maintenance might send
    f = data / "gateway_errors.csv"
    f.write_text("meter_id,timestamp,value,unit\n"
                 f"E99-EL-MAIN,{year}-03-03T10:15,10.0,kWh\n"
                 f"E02-EL-MAIN,{year}-03-03T10:15,n/a,kWh\n"
                 f"E02-EL-MAIN,03/03/{year} 10:30,10.0,kWh\n"
                 f"E02-NG,{year}-03-03T10:00,5,kg\n"
                 f"E04-EL-MAIN,{year}-03-03T10:15,-4.0,kWh\n"
                 f"E04-EL-MAIN,{year + 5}-03-03T10:15,4.0,kWh\n", encoding="utf-8")
    files.append(f)
    toml = _park_toml(park_id, year, ents, buildings, meters, products)
    extra_toml: list[str] = []  # park.toml sections added by the demo extras below
    # --- demo extras: each appends park.toml text to extra_toml and data files to files ----------
    # carbon (issue 3): fuels, green-power contracts, GECs, targets
    from greenpark.demo.carbon import carbon_toml

    extra_toml.append(carbon_toml(park_id, year, ents, meters, tables, diesel_rows, seed))
    # M&V (issue 5): weather station, retrofit project
    from greenpark.demo.mv import demo_files as mv_demo_files

    mv_toml, mv_files = mv_demo_files(data, year, retrofit, seed)
    extra_toml.append(mv_toml)
    files.extend(mv_files)
    # environment (issue 4): air and water stations
    from greenpark.demo.environment import demo_files as env_demo_files

    env_toml, env_files = env_demo_files(data, year)
    extra_toml.append(env_toml)
    files.extend(env_files)
    # indicators (issue 13): zero-carbon park and green-factory data, green-factory programme
    from greenpark.demo.indicators import indicators_toml

    extra_toml.append(indicators_toml(park_id, year, ents, tables))
    # --- end of demo extras ---------------------------------------------------------------------
    (out / "park.toml").write_text(toml + "\n".join(extra_toml), encoding="utf-8")
    return DemoFiles(out / "park.toml", files)


def _write_csv(table: pa.Table, path: Path) -> None:
    import pyarrow.csv as pcsv

    pcsv.write_csv(table, path, pcsv.WriteOptions(quoting_style="none"))


def _write_xlsx(rows: list[tuple], path: Path) -> None:
    import openpyxl

    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("diesel")
    ws.append(["meter_id", "timestamp", "value", "unit"])
    for r in rows:
        ws.append(list(r))
    wb.save(path)


def _q(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _park_toml(park_id, year, ents, buildings, meters, products) -> str:
    out = [f"""# greenpark demo park — generated by `greenpark demo` (deterministic, seeded).
# Reference of every field: README.md, section "park.toml".

[park]
id = "{park_id}"
name_zh = "苏州绿色高新技术产业园（演示）"
name_en = "Suzhou Green High-tech Park (demo)"
timezone = "Asia/Shanghai"
grid_region = "east_china"
province = "jiangsu"
db = "greenpark.duckdb"
interval_label = "end"

[accounting]
# Coal rate for electricity at equal value (等价值). NOT an official statistic: a demo assumption.
# Replace it with the thermal-power supply coal rate of the reporting year and name its source.
equal_value_coal_rate_gce_per_kwh = 300.0
equal_value_coal_rate_source = "demo assumption (replace with the reporting year's national thermal-power coal rate)"
equal_value_coal_rate_status = "UNVERIFIED"
include_working_media = false
"""]
    for eid, zh, en, ind, ov, va in ents:
        out.append(f"""[[enterprises]]
id = "{eid}"
name_zh = {_q(zh)}
name_en = {_q(en)}
industry = "{ind}"
economics = [{{ year = {year}, output_value_10k_cny = {ov}, value_added_10k_cny = {va} }}]
""")
    for bid, zh, en, owner, area, typ in buildings:
        out.append(f"""[[buildings]]
id = "{bid}"
name_zh = {_q(zh)}
name_en = {_q(en)}
owner = "{owner}"
floor_area_m2 = {area}
type = "{typ}"
""")
    for m in meters:
        lines = ["[[meters]]"]
        for key in ("id", "owner", "carrier", "unit", "kind", "interval_minutes", "interval_label", "multiplier",
                    "register_rollover", "parent", "end_use", "building", "renewable_generation", "export", "name"):
            if key in m and m[key] not in (None, "interval") or key in m and key == "kind" and m[key] != "interval":
                v = m[key]
                lines.append(f"{key} = " + (_q(v) if isinstance(v, str) else ("true" if v is True else
                                             "false" if v is False else repr(v))))
        for e in m.get("events", []):
            lines.append(f"events = [{{ kind = \"replacement\", at = {e['at']}:00, old_final = {e['old_final']}, "
                         f"new_initial = {e['new_initial']}, note = {_q(e['note'])} }}]")
        out.append("\n".join(lines) + "\n")
    for pid, eid, zh, en, unit, monthly in products:
        out.append(f"""[[products]]
id = "{pid}"
enterprise = "{eid}"
name_zh = {_q(zh)}
name_en = {_q(en)}
unit = {_q(unit)}
year = {year}
monthly_output = {monthly}
""")
    return "\n".join(out)
