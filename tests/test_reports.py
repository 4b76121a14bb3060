"""Reports (issue 12): the park scorecard, the enterprise energy-utilisation report, the GHG inventory
and the M&V report in HTML, PDF and Excel, checked against the CLI JSON of the same demo park.

PDF pages are rendered to PNG under test-artifacts/reports/ (look at them: they are what a reader sees).
"""

from __future__ import annotations

import io
import json
import math
import re
import shutil
import subprocess
from pathlib import Path

import openpyxl
import pytest

from greenpark import park as park_mod
from greenpark.findings import label
from greenpark.reports import model, render
from greenpark.store import Store

from conftest import run

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "reports"


# -- fixtures: the demo park's reports built once --------------------------------------------------
@pytest.fixture(scope="module")
def build(demo_dir, cli_json):
    """build(kind, id, year): a report model of the demo park (the store open only meanwhile, read-only,
    so that CLI processes can open it between)."""
    p = park_mod.load(demo_dir / "park.toml")

    def make(kind, subject=None, year=2025):
        store = Store(p.db_path, p.park.timezone, read_only=True)
        try:
            return model.build(kind, store, p, subject, year)
        finally:
            store.close()

    return make


@pytest.fixture(scope="module")
def park_rep(build):
    return build("park")


@pytest.fixture(scope="module")
def cli_json(demo_dir):
    def get(*args):
        return json.loads(run(*args, "--format", "json", cwd=demo_dir).stdout)

    return {"energy": get("energy", "--period", "2025"), "carbon": get("carbon", "--period", "2025"),
            "mv": get("mv", "savings", "E01-retrofit"), "indicators": get("indicators", "--period", "2025"),
            "carbon_e01": get("carbon", "--period", "2025", "--enterprise", "E01")}


def _sheet_rows(ws) -> tuple[list[str], list[list]]:
    """(header, data rows) of a table sheet: title in row 1, header in row 2."""
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    header = [str(h) for h in rows[1]]
    data = [r for r in rows[2:] if any(v is not None for v in r)]
    return header, data


def _col(header: list[str], en: str) -> int:
    return next(i for i, h in enumerate(header) if en in h)


def _row(data: list[list], first: str) -> list:
    return next(r for r in data if r[0] and first in str(r[0]))


# -- the park scorecard ------------------------------------------------------------------------------
def test_park_xlsx_figures_are_the_cli_json_figures(park_rep, cli_json):
    wb = openpyxl.load_workbook(io.BytesIO(render.render(park_rep, "xlsx")))
    e, c = cli_json["energy"], cli_json["carbon"]
    assert wb.sheetnames[0] == "lineage" and {"headline", "carriers", "enterprises", "carbon", "dual_control",
                                             "mv_savings", "air", "water", "completeness", "coefficients",
                                             "flags", "data_version"} <= set(wb.sheetnames)
    h, rows = _sheet_rows(wb["headline"])
    v, prev, yoy = _col(h, "value"), _col(h, "previous year"), _col(h, "year-on-year")
    tce = _row(rows, "综合能耗（当量值）")
    assert tce[v] == pytest.approx(e["park"]["tce"], rel=1e-12) and isinstance(tce[v], float)
    assert _row(rows, "综合能耗（等价值）")[v] == pytest.approx(e["park"]["tce_equal_value"], rel=1e-12)
    assert _row(rows, "可再生能源占比")[v] == pytest.approx(100 * e["park"]["renewable_share"], rel=1e-12)
    assert _row(rows, "碳排放总量（基于位置）")[v] == pytest.approx(c["park"]["total_location_t"], abs=1e-3)
    assert _row(rows, "碳排放总量（基于市场）")[v] == pytest.approx(c["park"]["total_market_t"], abs=1e-3)
    # the demo's 2024 data are the M&V baseline meters only: last year's figure is shown, but no
    # year-on-year change (not like for like), and the flag says why
    assert 0 < tce[prev] < tce[v] and tce[yoy] is None and "[%]" in h[yoy]
    assert any(f["code"] == "report.yoy.partial_previous_year" for f in park_rep.flags)
    assert model._yoy(110.0, 100.0) == pytest.approx(10.0) and model._yoy(1.0, None) is None
    assert model._yoy(1.0, 0.0) is None
    # every enterprise's tce, as numbers
    h, rows = _sheet_rows(wb["enterprises"])
    ids, t = _col(h, "id"), _col(h, "comprehensive energy [tce]")
    got = {r[ids]: r[t] for r in rows}
    assert got == pytest.approx({x["id"]: x["tce"] for x in e["enterprises"]}, rel=1e-12)
    # carriers: quantities and tce per carrier; units in the headers
    h, rows = _sheet_rows(wb["carriers"])
    assert any("[tce]" in x for x in h)
    q, t, u, cu = _col(h, "quantity"), _col(h, "comprehensive energy [tce]"), _col(h, "unit"), _col(h, "coefficient unit")
    for x in e["park"]["carriers"]:
        r = _row(rows, x["name_zh"])
        assert r[q] == pytest.approx(x["quantity"], rel=1e-12)
        # the quantity in the meters' unit (steam in t) beside the coefficient in its own (kgce/kg)
        assert (r[u], r[cu]) == (x["unit"], x["coefficient_unit"])
        assert r[t] == (pytest.approx(x["tce"], rel=1e-12) if x["counted_in_total"] else None)


def test_park_indicators_section_is_the_indicators_cli(park_rep, cli_json):
    wb = openpyxl.load_workbook(io.BytesIO(render.render(park_rep, "xlsx", "en")))
    h, rows = _sheet_rows(wb["indicators"])
    got = {r[_col(h, "indicator")]: r for r in rows}
    for i in cli_json["indicators"]["indicators"]:
        r = got[label("indicator", i["id"], "en")]
        assert r[_col(h, "value")] == (None if i["value"] is None else pytest.approx(i["value"], rel=1e-6))
        assert r[_col(h, "status")] == i["threshold_status"]


def test_park_lineage_sheet_has_data_version_and_every_coefficient(park_rep, cli_json):
    wb = openpyxl.load_workbook(io.BytesIO(render.render(park_rep, "xlsx")))
    cells = [str(v) for r in wb["lineage"].iter_rows(values_only=True) for v in r if v is not None]
    assert "last_import_id" in cells and "carbon_result" in cells and "greenpark_version" in cells
    assert any(x.startswith("#1 pinned") for x in cells)  # the published carbon result the figures used
    used = {m["coefficient_id"] for m in cli_json["energy"]["lineage"]["meters"]}
    assert used <= set(cells)
    assert {f["id"] for f in cli_json["carbon"]["factors"]} <= set(cells)
    h, rows = _sheet_rows(wb["coefficients"])
    st, src = _col(h, "status"), _col(h, "source")
    assert all(r[src] for r in rows)  # full citation on every row
    unv = [r for r in rows if r[st] == "UNVERIFIED"]
    assert unv  # the demo's coal rate and heat factor are UNVERIFIED: shown, and flagged
    assert any(f["code"] == "report.unverified_values" for f in park_rep.flags)
    assert wb["coefficients"].cell(row=3 + rows.index(unv[0]), column=st + 1).fill.fgColor.rgb.endswith("FFCDD2")


def test_combined_savings_root_sum_square():
    def res(e, u, tce, tco2):
        return {"savings": {"energy": e, "unit": "kWh", "uncertainty": {"absolute": u, "confidence": 0.68},
                            "tce": {"value": tce, "uncertainty": u * tce / e},
                            "tco2": {"value": tco2, "uncertainty": u * tco2 / e}}}

    c = model.combine_savings([res(1000.0, 30.0, 0.1229, 0.55), res(2000.0, 40.0, 0.2458, 1.1)])
    assert c["energy"]["kWh"]["value"] == 3000.0 and c["energy"]["kWh"]["uncertainty"] == pytest.approx(50.0)
    assert c["tce"]["value"] == pytest.approx(0.3687)
    assert c["tce"]["uncertainty"] == pytest.approx(math.hypot(30 * 0.1229 / 1000, 40 * 0.2458 / 2000))
    assert c["confidence"] == 0.68 and "JCGM 100:2008" in c["source"]


def test_park_mv_savings_match_the_mv_cli(park_rep, cli_json):
    s = cli_json["mv"]["savings"]
    comb = park_rep.figures["mv_combined"]
    assert comb["projects"] == 1
    assert comb["energy"]["kWh"]["value"] == pytest.approx(s["energy"], rel=1e-9)
    assert comb["energy"]["kWh"]["uncertainty"] == pytest.approx(s["uncertainty"]["absolute"], rel=1e-9)
    assert comb["tce"]["value"] == pytest.approx(s["tce"]["value"], rel=1e-9)
    assert comb["tco2"]["value"] == pytest.approx(s["tco2"]["value"], rel=1e-9)


def test_park_html_is_self_contained_with_svg_charts_and_deterministic(park_rep, cli_json):
    text = render.render(park_rep, "html").decode("utf-8")
    assert text.count("<svg") >= 6  # monthly energy, carriers, ranking, renewable, monthly CO2, air, water
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//|url\(\s*["']?https?:|@import""", text)
    assert f"{cli_json['energy']['park']['tce']:,.2f}" in text
    assert "园区年度绿色发展报告" in text and "Park annual green scorecard" in text
    en = render.render(park_rep, "html", "en").decode("utf-8")
    assert "Park annual green scorecard" in en and "园区年度绿色发展报告" not in en


def test_park_xlsx_and_html_identical_for_unchanged_data(build, park_rep):
    again = build("park")  # a new model from the same store: the same bytes
    assert render.render(park_rep, "html") == render.render(again, "html")
    a, b = render.render(park_rep, "xlsx"), render.render(again, "xlsx")
    assert a == b
    wb = openpyxl.load_workbook(io.BytesIO(a))
    assert wb.properties.creator == "greenpark" and wb.properties.modified == wb.properties.created


def test_park_pdf_from_the_cli_reads_back_and_renders_to_png(demo_dir, tmp_path, cli_json):
    out = tmp_path / "park.pdf"
    p = run("report", "park", "--period", "2025", "--format", "pdf", "-o", str(out), cwd=demo_dir)
    assert str(out) in p.stdout.replace("\n", "") and out.read_bytes()[:5] == b"%PDF-"
    text = subprocess.run(["pdftotext", "-layout", str(out), "-"], capture_output=True, text=True, check=True).stdout
    assert "园区年度绿色发展报告" in text and "Park annual green scorecard" in text
    assert f"{cli_json['energy']['park']['tce']:,.2f}" in text
    assert f"{cli_json['carbon']['park']['total_location_t']:,.4f}" in text
    assert "UNVERIFIED" in text
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob("park-*.png"):
        old.unlink()
    subprocess.run(["pdftoppm", "-r", "60", "-png", str(out), str(ARTIFACTS / "park")], check=True)
    pages = sorted(ARTIFACTS.glob("park-*.png"))
    assert len(pages) >= 3 and all(pg.stat().st_size > 5000 for pg in pages)


# -- the enterprise energy-utilisation report --------------------------------------------------------
def test_enterprise_report_tables_follow_the_template(build, cli_json):
    rep = build("enterprise", "E01")
    wb = openpyxl.load_workbook(io.BytesIO(render.render(rep, "xlsx")))
    assert [s for s in wb.sheetnames if s.startswith("T")] == [
        "T1_basic", "T2_structure", "T3_balance", "T4_unit_product", "T5_factors", "T6_target", "T7_checklist",
        "T8_equipment", "T9_standards", "T10_retrofit"]
    e01 = next(x for x in cli_json["energy"]["enterprises"] if x["id"] == "E01")
    h, rows = _sheet_rows(wb["T2_structure"])
    eq, ev = _col(h, "equivalent value) [tce]"), _col(h, "equal value) [tce]")
    assert sum(r[eq] or 0 for r in rows) == pytest.approx(e01["tce"], rel=1e-12)
    assert sum(r[ev] or 0 for r in rows) == pytest.approx(e01["tce_equal_value"], rel=1e-9)
    h, rows = _sheet_rows(wb["T10_retrofit"])
    assert rows[0][_col(h, "savings (standard coal) [tce]")] == pytest.approx(cli_json["mv"]["savings"]["tce"]["value"])
    assert "hebei-2008" in str(rep.data_version["template"]) and "[C1]" in str(rep.data_version["template"])
    text = render.render(rep, "html").decode("utf-8")
    assert "待企业填写" in text  # narrative tables wait for the enterprise's entries


def test_enterprise_report_takes_a_province_template_and_fill_file(demo_dir, tmp_path):
    tpl = tmp_path / "province.toml"
    tpl.write_text("""
[template]
id = "province-2026"
title_zh = "能源利用状况报告（某省2026版）"
title_en = "Energy-utilisation report (a province, 2026)"

[[tables]]
id = "A_carriers"
number = "表A"
title_zh = "分品种能源消费"
title_en = "Energy by carrier"
fill = "carriers"
columns = [{ key = "tce", zh = "当量值", en = "equivalent", unit = "tce" },
           { key = "carrier", zh = "品种", en = "carrier" }]

[[tables]]
id = "B_equipment"
title_zh = "主要用能设备"
title_en = "Main equipment"
fill = "user"
columns = [{ key = "name", zh = "设备", en = "equipment" }, { key = "rated_power_kw", zh = "功率", en = "power", unit = "kW" }]
""", encoding="utf-8")
    fill = tmp_path / "fill.toml"
    fill.write_text('[tables.B_equipment]\nrows = [{ name = "空压机 air compressor", rated_power_kw = 250.0 }]\n',
                    encoding="utf-8")
    out = tmp_path / "e.xlsx"
    run("report", "enterprise", "E01", "--period", "2025", "-f", "xlsx", "--template", str(tpl), "--fill", str(fill),
        "-o", str(out), cwd=demo_dir)
    wb = openpyxl.load_workbook(out)
    assert wb["A_carriers"]["A2"].value == "当量值 / equivalent [tce]" and wb["A_carriers"]["B2"].value.startswith("品种")
    assert wb["B_equipment"]["A3"].value == "空压机 air compressor" and wb["B_equipment"]["B3"].value == 250.0
    bad = tmp_path / "bad.toml"
    bad.write_text(tpl.read_text(encoding="utf-8").replace('key = "tce"', 'key = "tonnes"'), encoding="utf-8")
    p = run("report", "enterprise", "E01", "--period", "2025", "--template", str(bad), cwd=demo_dir, check=False)
    assert p.returncode == 2 and "tonnes" in p.stderr and "tce_equal_value" in p.stderr and "Traceback" not in p.stderr


# -- the GHG inventory and the M&V report ------------------------------------------------------------
def test_carbon_report_totals_and_activity_match_the_carbon_cli(build, cli_json):
    rep = build("carbon", "E01")
    wb = openpyxl.load_workbook(io.BytesIO(render.render(rep, "xlsx", "en")))
    assert wb.sheetnames[1:6] == ["boundary", "activity", "factors", "certificates", "totals"]  # verifier's order
    e01 = cli_json["carbon_e01"]["enterprises"][0]
    h, rows = _sheet_rows(wb["totals"])
    got = {r[0]: r[1] for r in rows}
    assert got["Scope 1"] == pytest.approx(e01["scope1_t"], abs=1e-3)
    assert got["total, location-based"] == pytest.approx(e01["total_location_t"], abs=1e-3)
    h, rows = _sheet_rows(wb["activity"])
    sc, co2 = _col(h, "scope"), _col(h, "CO2 [tCO2]")
    assert sum(r[co2] for r in rows if r[sc] == 1) == pytest.approx(e01["scope1_t"], abs=1e-3)
    h, rows = _sheet_rows(wb["factors"])
    assert {r[_col(h, "id")] for r in rows} == {f["id"] for f in cli_json["carbon_e01"]["factors"]}


def test_mv_report_html_has_the_verified_savings(build, cli_json):
    rep = build("mv", "E01-retrofit", None)
    text = render.render(rep, "html", "en").decode("utf-8")
    s = cli_json["mv"]["savings"]
    assert f"{s['energy']:,.4f}" in text and "data:image/png;base64," in text
    assert rep.figures["tce"] == pytest.approx(s["tce"]["value"])


def test_report_cli_errors_are_one_line(demo_dir):
    for args, needle in ((["report", "enterprise", "--period", "2025"], "needs an id"),
                         (["report", "park"], "--period"),
                         (["report", "park", "--period", "25"], "calendar year"),
                         (["report", "enterprise", "NOPE", "--period", "2025"], "NOPE")):
        p = run(*args, cwd=demo_dir, check=False)
        assert p.returncode == 2 and needle in p.stderr and "Traceback" not in p.stderr, (args, p.stderr)


# -- the API --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def report_api(demo_dir, tmp_path_factory):
    from fastapi.testclient import TestClient

    from greenpark.api.app import create_app
    from greenpark.services import users

    d = tmp_path_factory.mktemp("rep") / "park"
    shutil.copytree(demo_dir, d)
    p = park_mod.load(d / "park.toml")
    store = Store(p.db_path, p.park.timezone)
    try:
        with store.transaction() as con:
            users.add_user(con, p, "adm", "park_admin", created_by="test")
            users.add_user(con, p, "e01", "enterprise", enterprise_id="E01", created_by="test")
            tokens = {u: users.create_token(con, u, "test")[0] for u in ("adm", "e01")}
    finally:
        store.close()
    with TestClient(create_app(p)) as client:
        yield client, {u: {"Authorization": f"Bearer {t}"} for u, t in tokens.items()}


def test_api_reports_are_role_scoped(report_api):
    client, h = report_api
    r = client.get("/api/v1/reports/enterprise?id=E01&period=2025&format=xlsx", headers=h["e01"])
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert 'filename="report-enterprise-E01-2025.xlsx"' in r.headers["content-disposition"]
    assert "T2_structure" in openpyxl.load_workbook(io.BytesIO(r.content)).sheetnames
    assert client.get("/api/v1/reports/carbon?id=E02&period=2025", headers=h["e01"]).status_code == 403
    assert client.get("/api/v1/reports/park?period=2025", headers=h["e01"]).status_code == 403
    assert client.get("/api/v1/reports/mv?id=E01-retrofit&format=html&lang=en", headers=h["e01"]).status_code == 200
    r = client.get("/api/v1/reports/carbon?id=E02&period=2025&format=html", headers=h["adm"])
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html") and "<svg" not in r.text[:50]
    assert client.get("/api/v1/reports/carbon?id=E02&period=20x5", headers=h["adm"]).status_code == 400
    assert client.get("/api/v1/reports/enterprise?id=NOPE&period=2025", headers=h["adm"]).status_code == 404
    assert client.get("/api/v1/reports/park?period=2025").status_code == 401


def test_demo_says_where_the_park_reports_are(demo_dir, demo_output):
    out = demo_output.replace("\n", "")
    for fmt in ("html", "pdf", "xlsx"):
        f = demo_dir / "reports" / f"report-park-sip-gz-2025.{fmt}"
        assert f"Report 报告 ({fmt}):" in demo_output and f.exists() and f.stat().st_size > 10_000
        assert str(f).replace("\n", "") in out
