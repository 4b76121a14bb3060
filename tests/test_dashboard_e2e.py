"""End to end in headless Chromium: `greenpark serve` on a copy of the demo park (127.0.0.1, a
free port), log in, open every page, check that the charts are drawn with data, zoom the meter's
time series, switch the language, fix a quarantined row, read the M&V project E01-retrofit (the
demo plants its saving), and check an enterprise user's view.
Screenshots go to test-artifacts/ (look at them: they are what a user sees).

Driven by Playwright with Debian's chromium (/usr/bin/chromium); Playwright never downloads a browser.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from api_support import Server

from conftest import ENGINES, run

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
PASSWORD = "correct horse battery staple"
PAGES = [("/", "overview", 4), ("/enterprises/E01", "enterprise", 3), ("/meters/E01-EL-MAIN", "meter", 1),
         ("/air", "air", 1), ("/water", "water", 1), ("/imports", "imports", 1), ("/mv/E01-retrofit", "mv-project", 1)]

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (make test installs it)")


def _user(park: Path, *args: str) -> None:
    p = subprocess.run([sys.executable, "-m", "greenpark.cli", "user", "add", *args, "--password-stdin"],
                       cwd=park, input=PASSWORD + "\n", capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr


@pytest.fixture(scope="module", params=ENGINES)
def server(request, demo_dir, tmp_path_factory):
    """`greenpark serve` on the demo park: a copy of the session's DuckDB demo, or the demo built
    into a new PostgreSQL database (the dashboard on both engines)."""
    park = tmp_path_factory.mktemp("e2e") / "park"
    db = None
    if request.param == "duckdb":
        shutil.copytree(demo_dir, park)  # the demo park is shared by the session: the server writes a copy
    else:
        db = request.getfixturevalue("pg_server").create_database("e2e")
        run("demo", str(park), "--db", db)
    extra = ["--db", db] if db else []
    _user(park, "admin", "--role", "park_admin", *extra)
    _user(park, "e01", "--role", "enterprise", "--enterprise", "E01", *extra)
    _user(park, "e02", "--role", "enterprise", "--enterprise", "E02", *extra)
    srv = Server(park, tmp_path_factory.mktemp("e2e-log") / "serve.log", db=db)
    srv.engine = request.param
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


class Page:
    """A browser tab that records requests to other hosts and script errors."""

    def __init__(self, browser, server):
        self.ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
        self.page = self.ctx.new_page()
        self.url = server.url
        self.engine = server.engine
        self.foreign: list[str] = []
        self.errors: list[str] = []
        self.page.on("request", lambda r: None if r.url.startswith((server.url, "data:", "blob:")) else
                     self.foreign.append(r.url))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def login(self, username: str, landing: str) -> None:
        p = self.page
        p.goto(self.url + "/")
        p.wait_for_url("**/login**")
        p.fill("#username", username)
        p.fill("#password", PASSWORD)
        p.click("button[type=submit]")
        p.wait_for_selector(f"main[data-page={landing}]", timeout=60_000)

    def open(self, path: str, key: str) -> None:
        self.page.goto(self.url + path)
        self.page.wait_for_selector(f"main[data-page={key}]", timeout=60_000)

    def charts(self) -> dict[str, int]:
        return self.page.eval_on_selector_all(
            "[data-ready]", "els => Object.fromEntries(els.map(e => [e.id, Number(e.dataset.points)]))")

    def shot(self, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"dashboard-{name}{'' if self.engine == 'duckdb' else '-' + self.engine}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def close(self) -> None:
        self.ctx.close()


@pytest.fixture
def tab(browser, server):
    t = Page(browser, server)
    yield t
    t.close()


def test_park_admin_opens_every_page_with_charts(tab):
    tab.login("admin", "overview")
    for path, key, n_charts in PAGES:
        tab.open(path, key)
        charts = tab.charts()
        assert len(charts) >= n_charts, (key, charts)
        assert all(points > 0 for points in charts.values()), (key, charts)
        assert tab.page.locator("canvas").count() >= n_charts
        assert tab.page.locator(".error").count() == 0, tab.page.inner_text("main")[:500]
        assert tab.shot(key).stat().st_size > 20_000
    assert tab.foreign == [], "the dashboard must work offline (no CDN)"
    assert tab.errors == []


def test_overview_shows_the_park_figures(tab, server):
    import httpx

    tab.login("admin", "overview")
    text = tab.page.inner_text("main")
    assert "苏州绿色高新技术产业园" in text and "综合能耗" in text and "双控目标" in text
    cookies = {c["name"]: c["value"] for c in tab.ctx.cookies()}
    ov = httpx.get(server.url + "/api/v1/overview", cookies=cookies).json()
    assert f"{ov['park']['tce']:,.1f}" in text
    assert tab.charts()["chart-month"] == 12
    tab.page.wait_for_selector("#chart-month[data-carbon-points]")  # CO2 lines drawn over the energy bars
    assert tab.page.get_attribute("#chart-month", "data-carbon-points") == "12"
    co2 = httpx.get(server.url + "/api/v1/carbon?period=2025", cookies=cookies).json()["park"]["total_location_t"]
    assert f"{co2:,.1f}" in tab.page.inner_text("#kpi-co2")
    # whether the year shown is published (the demo publishes 2025), labelled from the catalogue
    assert tab.page.get_attribute("#co2-published", "data-status") == "pinned"
    assert tab.page.inner_text("#co2-published") == "已发布"


def test_overview_links_the_park_report(tab, server):
    import httpx

    tab.login("admin", "overview")
    links = tab.page.locator("[data-report=park] a")
    assert [links.nth(i).inner_text() for i in range(links.count())] == ["HTML", "PDF", "XLSX"]
    href = links.nth(1).get_attribute("href")
    assert href.startswith("/api/v1/reports/park?") and "format=pdf" in href and "period=2025" in href
    cookies = {c["name"]: c["value"] for c in tab.ctx.cookies()}
    r = httpx.get(server.url + href, cookies=cookies, timeout=300)
    assert r.status_code == 200 and r.content[:5] == b"%PDF-" and r.headers["content-type"] == "application/pdf"


def test_meter_time_series_zooms(tab):
    tab.login("admin", "overview")
    tab.open("/meters/E01-EL-MAIN", "meter")
    before = tab.charts()["chart-series"]
    assert before > 8000  # hourly values of the demo year
    start = tab.page.evaluate("""() => {
        const c = echarts.getInstanceByDom(document.getElementById('chart-series'));
        c.dispatchAction({type: 'dataZoom', start: 40, end: 45});
        return c.getOption().dataZoom[0].start; }""")
    assert start == 40
    tab.shot("meter-zoomed")


def test_language_switches_to_english_and_back(tab):
    tab.login("admin", "overview")
    assert "园区总览" in tab.page.inner_text("#nav")
    tab.page.click("#lang")
    tab.page.wait_for_function("document.documentElement.lang === 'en' && document.querySelector('main[data-page]')")
    tab.page.wait_for_selector("#chart-month[data-ready]")
    assert "Park overview" in tab.page.inner_text("#nav")
    assert "Comprehensive energy" in tab.page.inner_text("main")
    tab.shot("overview-en")
    tab.open("/air", "air")
    assert "Daily AQI calendar" in tab.page.inner_text("main")
    tab.shot("air-en")
    tab.page.click("#lang")
    tab.page.wait_for_function("document.documentElement.lang === 'zh'")


def test_fix_a_quarantined_row_in_the_browser(tab):
    tab.login("admin", "overview")
    tab.open("/imports?reason=unknown_meter", "imports")
    row = tab.page.locator("tr", has_text="E99-EL-MAIN")
    row.locator("button", has_text="更正").click()
    form = row.locator("form")
    form.locator("input[name=meter_id]").fill("E01-EL-MAIN")
    form.locator("button[type=submit]").click()
    tab.page.wait_for_selector("#imports-note .notice")
    assert "拒收 0" in tab.page.inner_text("#imports-note")
    tab.shot("imports-fixed")


def test_enterprise_user_fixes_its_own_quarantined_row(tab):
    tab.login("e02", "enterprise")
    assert "隔离区" in tab.page.inner_text("#nav")
    tab.open("/quarantine", "quarantine")
    main = tab.page.inner_text("main")
    assert "E02-EL-MAIN" in main and "E01-EL-MAIN" not in main and "E99-EL-MAIN" not in main
    row = tab.page.locator("tr", has_text="n/a")
    row.locator("button", has_text="更正").click()
    form = row.locator("form")
    form.locator("input[name=value]").fill("10.0")
    form.locator("button[type=submit]").click()
    tab.page.wait_for_selector("#imports-note .notice")
    assert "拒收 0" in tab.page.inner_text("#imports-note")
    tab.shot("quarantine-enterprise-fixed")
    tab.page.wait_for_selector("tr:has-text('n/a')", state="detached")  # the page re-rendered: row fixed
    # a corrected CSV (the export's layout) resubmitted from the page: the gas row in m3, not kg
    cells = tab.page.locator("tr", has_text="E02-NG").locator("td").all_inner_texts()
    import_id, line_no = cells[1].strip(), cells[3].strip()
    fixed = ("meter_id,timestamp,value,unit,reason,detail,import_id,line_no\n"
             f"E02-NG,2025-03-03T10:00,5,m3,unit_not_convertible,,{import_id},{line_no}\n")
    tab.page.set_input_files("#resubmit-file", files=[{"name": "fixed.csv", "mimeType": "text/csv",
                                                       "buffer": fixed.encode()}])
    tab.page.click("#resubmit-file-form button[type=submit]")
    tab.page.wait_for_selector("#imports-note .notice:has-text('已跳过')")
    assert "拒收 0" in tab.page.inner_text("#imports-note")


def test_enterprise_user_sees_only_its_enterprise(tab):
    tab.login("e01", "enterprise")
    assert tab.page.url.endswith("/enterprises/E01")
    nav = tab.page.inner_text("#nav")
    assert "园区总览" not in nav and "导入" not in nav
    assert all(points > 0 for points in tab.charts().values())
    tab.shot("enterprise-user")
    tab.page.goto(tab.url + "/enterprises/E02")
    tab.page.wait_for_selector(".error")
    err = tab.page.inner_text(".error")
    assert "无权查看" in err and "E01" in err
    assert "苏精密" not in tab.page.inner_text("body")  # E02's name
    tab.shot("enterprise-forbidden")


def test_mv_page_shows_the_savings_with_uncertainty_and_verdict(tab, server):
    import httpx

    tab.login("admin", "overview")
    tab.page.click("#nav a[href='/mv']")
    tab.page.wait_for_selector("main[data-page=mv]")
    assert "E01-retrofit" in tab.page.inner_text("main")
    tab.shot("mv-list")
    tab.page.click("a[href='/mv/E01-retrofit']")
    tab.page.wait_for_selector("main[data-page=mv-project] #chart-mv[data-ready]", timeout=60_000)
    cookies = {c["name"]: c["value"] for c in tab.ctx.cookies()}
    series = httpx.get(server.url + "/api/v1/mv/E01-retrofit/series?step=week", cookies=cookies, timeout=60).json()
    assert tab.charts()["chart-mv"] == len(series["rows"]) > 100  # two years of weeks
    assert {r["phase"] for r in series["rows"]} == {"baseline", "reporting"}
    drawn = tab.page.evaluate("""() => echarts.getInstanceByDom(document.getElementById('chart-mv'))
        .getOption().series.map((s) => s.data.filter((p) => p[1] !== null).length)""")
    assert all(n > 40 for n in drawn), drawn  # actual, baseline fit, adjusted baseline
    mv = httpx.get(server.url + "/api/v1/mv/E01-retrofit", cookies=cookies, timeout=60).json()
    kpis = tab.page.inner_text("#mv-kpis")
    s = mv["savings"]
    assert f"{s['energy']:,.0f} ± {s['uncertainty']['absolute']:,.0f}" in kpis
    assert "可用于节能量验证" in tab.page.inner_text("#mv-verdict") and mv["verdict"]["fit"]
    assert tab.page.locator(".error").count() == 0
    assert tab.shot("mv-project").stat().st_size > 20_000
    tab.page.click("#lang")
    tab.page.wait_for_selector("#chart-mv[data-ready]")
    tab.page.wait_for_function("document.documentElement.lang === 'en'")
    assert "Adjusted baseline" in tab.page.inner_text("main") and "fit for M&V" in tab.page.inner_text("#mv-verdict")
    tab.shot("mv-project-en")
    tab.page.click("#lang")
    tab.page.wait_for_function("document.documentElement.lang === 'zh'")
    assert tab.foreign == [] and tab.errors == []


def test_enterprise_user_sees_its_mv_project(tab):
    tab.login("e01", "enterprise")
    tab.open("/mv", "mv")
    assert "E01-retrofit" in tab.page.inner_text("main")


#: codes that must never reach a person reading the Chinese dashboard (they have labels in the
#: catalogue): carrier, industry, reason, finding, metric, statistic, role ids and raw unit spellings
RAW_CODES = re.compile(
    r"(?<![\w./-])(electricity|natural_gas|steam|diesel|die_casting|electronics|battery|precision_machining|"
    r"data_centre|unknown_meter|unparsable_\w+|negative_\w+|duplicate_in_file|timestamp_in_future|malformed_row|"
    r"unit_not_convertible|unknown_station|unknown_parameter|(?:energy|carbon|targets|air|aqi|water|mv|reference)"
    r"\.[a-z_.0-9]+|co2_t|co2_intensity|energy_tce|energy_intensity|annual_mean|p98|p95|p90|park_admin|"
    r"top-level|sub-meter|interval|cumulative|river|lake|on_track|at_risk)(?![\w-])"
    r"|10\^4 CNY|ug/m3|mg/m3|\[tCO2\]")


def _raw_codes(text: str) -> list[str]:
    return sorted({m.group(0) for m in RAW_CODES.finditer(text)})


def test_chinese_dashboard_shows_labels_not_codes(tab):
    """Every page in Chinese: no carrier, industry, reason, flag, metric, statistic or unit code in
    the text a person reads (codes stay in tooltips); targets by name; a 'none' line in empty tables."""
    tab.login("admin", "overview")
    seen = {}
    for path, key in [("/", "overview"), ("/enterprises/E01", "enterprise"), ("/meters/E01-EL-MAIN", "meter"),
                      ("/meters/E02-EL-MAIN", "meter"), ("/air", "air"), ("/water", "water"),
                      ("/imports", "imports"), ("/imports?status=resolved", "imports"), ("/mv/E01-retrofit", "mv-project")]:
        tab.open(path, key)
        tab.page.wait_for_selector("[data-ready]", timeout=60_000)
        text = tab.page.inner_text("main") + "\n" + tab.page.inner_text("header")
        seen[path] = _raw_codes(text)
        if key in ("overview", "imports"):
            tab.shot(f"labels-{key}")
    assert not any(seen.values()), {k: v for k, v in seen.items() if v}
    tab.open("/", "overview")
    text = tab.page.inner_text("main")
    assert "数据不完整 ×" in text and "二氧化碳排放总量（吨二氧化碳/万元）" not in text
    assert "二氧化碳排放总量（吨二氧化碳）" in text and "单位增加值能耗（吨标准煤/万元）" in text
    # targets by name: the park and enterprises, not their ids
    assert "苏州绿色高新技术产业园" in tab.page.inner_text("table") and not re.search(r"\bE27\b", tab.page.inner_text("table"))
    # the carrier donut labels its slices with their shares
    pie = tab.page.evaluate("""() => echarts.getInstanceByDom(document.getElementById('chart-carrier'))
        .getOption().series[0]""")
    assert "{d}%" in pie["label"]["formatter"] and "电力" in [d["name"] for d in pie["data"]]
    tab.open("/air", "air")
    text = tab.page.inner_text("main")
    assert "第98百分位数" in text and "年平均" in text and "微克/立方米" in text
    tab.open("/imports", "imports")
    assert "文件内重复" in tab.page.inner_text("main")  # duplicate_in_file (unknown_meter may be fixed already)


def test_english_labels_plural_and_empty_tables(tab):
    tab.login("admin", "overview")
    tab.page.click("#lang")
    tab.page.wait_for_function("document.documentElement.lang === 'en' && document.querySelector('main[data-page]')")
    tab.page.wait_for_selector("#chart-month[data-ready]")
    text = tab.page.inner_text("main")
    assert not re.search(r"\b1 meters\b", text)
    assert re.search(r"\b1 meter incomplete\b|\b\d+ meters incomplete\b|\b0 meters incomplete\b", text)
    assert "incomplete data ×" in text and "total CO₂ [tCO₂]" in text
    assert _raw_codes(text) == []
    tab.open("/meters/E01-EL-MAIN", "meter")
    empty = tab.page.locator("tr.empty")
    assert empty.count() >= 1 and empty.first.inner_text().strip() == "none"
    tab.page.click("#lang")
    tab.page.wait_for_function("document.documentElement.lang === 'zh'")


def test_api_errors_show_their_code_label(tab):
    tab.login("admin", "overview")
    tab.page.goto(tab.url + "/meters/NOPE")
    tab.page.wait_for_selector(".error")
    err = tab.page.locator(".error")
    assert err.get_attribute("data-code") == "not_found"
    assert err.inner_text().startswith("不存在：")


def test_indicators_page_in_chinese_and_english(tab, server):
    """The zero-carbon park page: the core and five guiding indicators with their verdicts (the demo
    has some that meet and some that do not), the monthly chart, the programme; then in English."""
    import httpx

    tab.login("admin", "overview")
    tab.page.click("#nav a[href='/indicators']")
    tab.page.wait_for_selector("main[data-page=indicators] #chart-indicators[data-ready]", timeout=60_000)
    assert tab.charts()["chart-indicators"] == 12
    verdicts = tab.page.eval_on_selector_all("#indicator-kpis .kpi", "els => els.map(e => e.dataset.verdict)")
    assert len(verdicts) == 6 and "pass" in verdicts and "fail" in verdicts
    text = tab.page.inner_text("main")
    assert "单位能耗碳排放" in text and "工业用水重复利用率" in text and "达标" in text and "未达标" in text
    assert "绿色工厂梯度培育" in text
    assert _raw_codes(text) == []
    cookies = {c["name"]: c["value"] for c in tab.ctx.cookies()}
    d = httpx.get(server.url + "/api/v1/indicators?period=2025", cookies=cookies, timeout=120).json()
    assert f"{100 * d['indicators'][4]['value']:.1f} %" in text  # water reuse as the API gives it
    tab.shot("indicators")
    tab.page.click("#lang")
    tab.page.wait_for_function("document.documentElement.lang === 'en' && document.querySelector('main[data-page]')")
    tab.page.wait_for_selector("#chart-indicators[data-ready]")
    text = tab.page.inner_text("main")
    assert "carbon per unit of energy" in text and "does not meet" in text and "Green-factory programme" in text
    tab.shot("indicators-en")
    tab.page.click("#lang")
    tab.page.wait_for_function("document.documentElement.lang === 'zh'")


def test_enterprise_user_sees_its_green_factory_indicators(tab):
    tab.login("e01", "enterprise")
    tab.open("/indicators", "indicators")
    text = tab.page.inner_text("main")
    assert "绿色工厂定量指标" in text and "单位产品综合能耗" in text and "能碳管理平台功能" in text
    assert "苏精密" not in tab.page.inner_text("body") and "E02" not in text
    tab.shot("indicators-enterprise")
