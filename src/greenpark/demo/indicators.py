"""Indicator sections of the demo park (issue 13): zero-carbon park and green-factory data.

Called from :func:`greenpark.demo.generate`. Everything is deterministic and marked as demo data in
``source``; no value here is a published benchmark, quota grade or statistic:

- ``[indicators]``: the demo park (about 43,000 tce/yr) is below the smallest published size band of the
  core indicator (200,000 tce/yr), so the park administration enters its own threshold (status USER);
- ``[[indicator_records]]`` per enterprise: solid waste generated and utilised, waste heat available
  and recovered (die casting furnaces, battery formation, data-centre server heat), reused water as a
  multiple of the metered fresh water. The park passes solid waste and water reuse and misses waste heat;
- ``[[energy_quotas]]``: made-up grade values for aluminium die castings and lithium-ion cells so that
  some products reach grade 1, some grade 2 and some neither;
- ``[[benchmarks]]``: demo benchmark and leading values of the green-factory indicators;
- ``[[green_factories]]`` and ``[programme]``: six enterprises already awarded, the park's target of 20
  provincial-or-higher green factories by the end of 2026 (the seed's programme).
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

DEMO = "demo values (not statistics of a real enterprise)"
#: reused water per tonne of fresh water, cycled over the enterprises (R = m / (1 + m): 0.67 to 0.90)
_REUSE = (7.0, 3.0, 9.0, 5.5, 2.0, 8.0)
#: solid-waste utilisation shares, cycled
_SOLID = (0.95, 0.9, 0.7, 0.85, 0.6, 0.92)
#: recovered share of the available waste heat, cycled (industries with waste heat only)
_HEAT = (0.3, 0.5, 0.2, 0.45)
_HEAT_INDUSTRIES = ("die_casting", "battery", "data_centre")
#: awarded green factories: enterprise -> (tier, year awarded, re-evaluation due, own platform functions)
_AWARDED = {"E06": ("national", 2021, 2026, ["energy_flow", "efficiency_optimisation"]),
            "E07": ("provincial", 2022, 2025, []),
            "E13": ("provincial", 2023, 2026, ["carbon_footprint"]),
            "E15": ("provincial", 2024, 2027, []),
            "E21": ("municipal", 2023, 2026, []),
            "E27": ("provincial", 2025, 2028, ["energy_flow", "carbon_footprint", "carbon_assets"])}


def indicators_toml(park_id: str, year: int, ents: list[tuple], tables: dict[str, list[pa.Table]]) -> str:
    """The park.toml text of the demo's indicator sections."""
    fresh = {}
    for t in tables["water"]:
        fresh[t.column("meter_id")[0].as_py().split("-")[0]] = float(pc.sum(t.column("value")).as_py())
    out = [f"""
# --- zero-carbon park and green-factory indicators (greenpark indicators); README "Indicators" --------
[indicators]
scope2_method = "market"             # green electricity at zero CO2 (greenpark's reading; flagged)
clean_energy = ["onsite_renewable", "green_electricity"]
core_threshold_tco2_per_tce = 0.20   # no published threshold below 200,000 tce/yr: the park's own target
core_threshold_source = "demo: park administration target, the 0.20 tCO2/tce of the 200,000-1,000,000 tce band"

[programme]
target_count = 20
min_tier = "provincial"
by = {year + 1}-12-31
source = "demo: park plan, 20 provincial-or-higher green factories by the end of {year + 1}"
"""]
    heat_i = 0
    for k, (eid, _zh, _en, industry, ov, _va) in enumerate(ents):
        gen = round(ov * 0.02, 1)
        rec = [f"[[indicator_records]]\nenterprise = \"{eid}\"\nyear = {year}",
               f"solid_waste_generated_t = {gen}", f"solid_waste_utilised_t = {round(gen * _SOLID[k % 6], 1)}"]
        if industry in _HEAT_INDUSTRIES:
            avail = round(ov * 0.05, 1)
            rec += [f"waste_heat_available_gj = {avail}",
                    f"waste_heat_recovered_gj = {round(avail * _HEAT[heat_i % 4], 1)}"]
            heat_i += 1
        if eid in fresh:
            rec.append(f"reused_water_t = {round(fresh[eid] * _REUSE[k % 6], 1)}")
        rec.append(f"source = \"{DEMO}\"")
        out.append("\n".join(rec) + "\n")
    for pid, g1, g2 in (("E{:02d}-P1", 110.0, 150.0),):
        for k in range(1, 7):
            out.append(f"""[[energy_quotas]]
product = "{pid.format(k)}"
standard = "demo quota for aluminium die castings (not a published standard)"
grade1 = {g1}
grade2 = {g2}
source = "{DEMO}"
""")
    for k in range(15, 20):
        out.append(f"""[[energy_quotas]]
product = "E{k:02d}-P1"
standard = "demo quota for lithium-ion cells (not a published standard)"
grade1 = 130.0
grade2 = 200.0
source = "{DEMO}"
""")
    for ind, extra, b, lead in (("energy_per_output", "", 40.0, 25.0), ("co2_per_output", "", 150.0, 100.0),
                                ("renewable_share", 'energy_band = "lt_3000"\n', 0.05, 0.15),
                                ("renewable_share", 'energy_band = "3000_5000"\n', 0.05, 0.12),
                                ("water_per_output", "", 1.5, 0.8), ("water_reuse", "", 0.8, 0.9),
                                ("solid_waste_utilisation", "", 0.8, 0.95)):
        out.append(f"""[[benchmarks]]
indicator = "{ind}"
{extra}benchmark = {b}
leading = {lead}
source = "{DEMO}"
""")
    for eid, (tier, awarded, due, funcs) in _AWARDED.items():
        out.append(f"""[[green_factories]]
enterprise = "{eid}"
tier = "{tier}"
year_awarded = {awarded}
reevaluation_due = {due}
platform_functions = [{", ".join(f'"{f}"' for f in funcs)}]
source = "{DEMO}"
""")
    return "\n".join(out)
