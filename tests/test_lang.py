"""greenpark speaks Chinese (issue 15 items 6, 9-11): ``--lang``, Accept-Language, the energy views
for any mix of carriers, explicit carbon publication, and offline API docs."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from greenpark import park as park_mod
from greenpark.api.app import create_app
from greenpark.ingest import ingest_file
from greenpark.store import Store

from conftest import NOW, run, write

# electricity every month; steam (metered in t) only in January and March: the columns of
# --by month must stay aligned in the table and complete in the CSV
READINGS = """
meter_id,timestamp,value
E1-EL,2025-01-10 10:15,1000
E1-EL,2025-02-10 10:15,2000
E1-EL,2025-03-10 10:15,3000
E1-ST,2025-01-10 11:00,2
E1-ST,2025-03-10 11:00,5
"""


@pytest.fixture(scope="module")
def gaps_park(tmp_path_factory) -> Path:
    import textwrap

    from conftest import SMALL_PARK

    d = tmp_path_factory.mktemp("lang") / "park"
    d.mkdir()
    (d / "park.toml").write_text(textwrap.dedent(SMALL_PARK), encoding="utf-8")
    p = park_mod.load(d / "park.toml")
    with Store(p.db_path, p.park.timezone) as store:
        with store.transaction():
            store.sync_park(p)
        assert ingest_file(store, write(d / "r.csv", READINGS), now=NOW).rejected == 0
    return d


def _table_rows(out: str) -> list[list[str]]:
    return [[c.strip() for c in line.strip("│").split("│")] for line in out.splitlines() if line.startswith("│")]


def test_zh_month_table_columns_match_the_json_with_missing_carriers(gaps_park):
    out = run("--lang", "zh", "energy", "--period", "2025", "--by", "month", cwd=gaps_park).stdout
    head = next(line for line in out.splitlines() if line.startswith("┃"))
    cols = [c.strip() for c in head.strip("┃").split("┃")]
    assert cols == ["月份", "综合能耗 [吨标准煤]", "电力 [千瓦时]", "蒸汽 [吨]"]
    assert "能源 2025 按月份" in out and "数据来源" in out
    rows = {r[0]: r for r in _table_rows(out)}
    months = json.loads(run("energy", "--period", "2025", "--by", "month", "--format", "json",
                            cwd=gaps_park).stdout)["breakdowns"]["month"]
    assert [m["month"] for m in months] == sorted(rows) == ["2025-01", "2025-02", "2025-03"]
    for m in months:  # every cell under its own carrier: February has no steam, and says 0
        assert list(m["carriers"]) == ["electricity", "steam"]
        assert [float(v.replace(",", "")) for v in rows[m["month"]][2:]] == \
            [pytest.approx(m["carriers"]["electricity"], abs=1e-3), pytest.approx(m["carriers"]["steam"], abs=1e-3)]
    assert rows["2025-02"][3] == "0.000" and rows["2025-03"][3] == "5.000"  # t of steam, not kg
    csv_rows = list(csv.DictReader(io.StringIO(run("energy", "--period", "2025", "--by", "month", "--format", "csv",
                                                   cwd=gaps_park).stdout)))
    assert list(csv_rows[0]) == ["month", "tce", "electricity", "steam"]  # CSV headers stay codes
    assert [r["steam"] for r in csv_rows] == ["2.0", "0.0", "5.0"]


def test_english_and_environment_language(gaps_park, monkeypatch):
    out = run("--lang", "en", "energy", "--period", "2025", "--by", "month", cwd=gaps_park).stdout
    assert "electricity [kWh]" in out and "steam (low pressure) [t]" in out and "Lineage" in out
    monkeypatch.setenv("GREENPARK_LANG", "zh")
    out = run("energy", "--period", "2025", cwd=gaps_park).stdout
    assert "综合能耗" in out and "分品种" in out and "蒸汽" in out and "Lineage" not in out
    out = run("--lang", "en", "energy", "--period", "2025", cwd=gaps_park).stdout  # --lang wins
    assert "By carrier" in out and "分品种" not in out


def test_errors_in_the_chosen_language(gaps_park):
    p = run("--lang", "zh", "energy", "--period", "25", cwd=gaps_park, check=False)
    assert p.returncode == 2 and "错误" in p.stderr and "不是年份" in p.stderr and "Traceback" not in p.stderr
    p = run("--lang", "zh", "energy", "--period", "2025", "--enterprise", "E9", cwd=gaps_park, check=False)
    assert p.returncode == 2 and "园区中没有企业 'E9'" in p.stderr and "E1, E2" in p.stderr
    p = run("--lang", "en", "energy", "--period", "2025", "--enterprise", "E9", cwd=gaps_park, check=False)
    assert p.returncode == 2 and "no enterprise 'E9'" in p.stderr
    p = run("--lang", "zh", "energy", "--period", "2025", "--park", str(gaps_park / "nope.toml"), check=False)
    assert p.returncode == 2 and "文件不存在" in p.stderr
    p = run("--lang", "fr", "energy", "--period", "2025", cwd=gaps_park, check=False)
    assert p.returncode == 2


def test_breakdowns_label_ids_and_keep_working_media_out_of_tce(gaps_park):
    out = run("--lang", "zh", "energy", "--period", "2025", "--by", "end-use", "--enterprise", "E1",
              cwd=gaps_park).stdout
    table = "\n".join(line for line in out.splitlines() if line.startswith(("┃", "│")))
    assert "用能环节" in table and "(未计量余量)" in table and "蒸汽" in table and "electricity" not in table
    rows = json.loads(run("energy", "--period", "2025", "--by", "end-use", "--enterprise", "E1", "--format", "json",
                          cwd=gaps_park).stdout)["breakdowns"]["end_use"]
    steam = next(r for r in rows if r["carrier"] == "steam")
    assert steam["quantity"] == pytest.approx(7.0) and steam["unit"] == "t"


def test_api_error_messages_follow_accept_language(park_dir, park):
    app = create_app(park, ":memory:")
    with TestClient(app) as c:
        r = c.get("/api/v1/nope", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"})
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
        assert "没有这个资源" in r.json()["error"]["message"]
        r = c.get("/api/v1/nope", headers={"Accept-Language": "en-GB,zh;q=0.5"})
        assert r.json()["error"]["message"].startswith("no such resource")
        assert c.get("/api/v1/nope").json()["error"]["message"].startswith("no such resource")  # default en
        # a domain error carrying a catalogue message (an unknown period) in both languages
        from greenpark.api.errors import request_lang
        from greenpark.core.energy import PeriodError, parse_period

        with pytest.raises(PeriodError) as exc:
            parse_period("25")
        assert "不是年份" in exc.value.localized("zh") and "is not a year" in str(exc.value)

        class Req:
            def __init__(self, h):
                self.headers = {"accept-language": h}
        assert [request_lang(Req(h)) for h in ("zh", "en,zh;q=0.9", "fr, zh;q=0.3", "de", "", "zh;q=0")] == \
            ["zh", "en", "zh", "en", "en", "en"]


def test_api_docs_are_served_offline(park_dir, park):
    app = create_app(park, ":memory:")
    with TestClient(app) as c:
        r = c.get("/api/v1/docs")
        assert r.status_code == 200 and "swagger-ui" in r.text
        assert "<script>" not in r.text  # no inline script: the page's CSP allows only 'self'
        urls = re.findall(r'(?:src|href)="([^"]+)"', r.text)
        assert len(urls) == 4 and all(u.startswith("/api/v1/docs/assets/") for u in urls)
        for u in urls:
            a = c.get(u)
            assert a.status_code == 200 and len(a.content) > 300, u
        assert "SwaggerUIBundle" in c.get("/api/v1/docs/assets/vendor/swagger-ui/swagger-ui-bundle.js").text
        assert c.get("/api/v1/openapi.json").status_code == 200
    lic = Path(park_mod.__file__).parent / "web" / "static" / "vendor" / "swagger-ui" / "LICENSE"
    assert "Apache License" in lic.read_text(encoding="utf-8")


@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="needs Debian's chromium (make test installs it)")
def test_api_docs_render_in_chromium_with_no_outside_request(gaps_park, tmp_path):
    from playwright.sync_api import sync_playwright

    from api_support import Server

    srv = Server(gaps_park, tmp_path / "serve.log")
    try:
        with sync_playwright() as pw:
            b = pw.chromium.launch(executable_path="/usr/bin/chromium",
                                   args=["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                                         "--disable-background-networking", "--disable-component-update"])
            page = b.new_page()
            foreign, errors = [], []
            page.on("request", lambda r: None if r.url.startswith((srv.url, "data:", "blob:")) else foreign.append(r.url))
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.goto(srv.url + "/api/v1/docs")
            page.wait_for_selector(".opblock", timeout=30_000)  # the operations of openapi.json are listed
            assert page.locator(".opblock").count() > 20
            assert "greenpark API" in page.content()
            b.close()
        assert foreign == [] and errors == []
    finally:
        srv.stop()
