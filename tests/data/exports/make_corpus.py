"""Writes the corpus of realistic exports of Chinese meter systems and utility portals (issue 15)
into this folder: ``python tests/data/exports/make_corpus.py``. The files are committed; the
expected totals are in tests/test_import_exports.py. ``legacy.xls`` is written with xlwt when it
is installed (it was, once; the binary is committed)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

HERE = Path(__file__).parent

PARK = """\
[park]
id = "ks"
name_zh = "昆山测试园区"
name_en = "Kunshan test park"

[accounting]
equal_value_coal_rate_gce_per_kwh = 300.0
equal_value_coal_rate_source = "test value"

[[enterprises]]
id = "KS1"
name_zh = "昆山某厂"
name_en = "Kunshan plant"
industry = "die_casting"

[[meters]]
id = "K-EL-01"
owner = "KS1"
carrier = "electricity"
unit = "度"

[[meters]]
id = "K-EL-02"
owner = "KS1"
carrier = "electricity"
unit = "kwh"

[[meters]]
id = "K-EL-DAY"
owner = "KS1"
carrier = "electricity"
unit = "千瓦时"
interval = "day"

[[meters]]
id = "K-GAS"
owner = "KS1"
carrier = "natural_gas"
unit = "标方"
interval = "month"

[[meters]]
id = "K-WA"
owner = "KS1"
carrier = "water"
unit = "m³"
interval = "month"

[[meters]]
id = "K-ST"
owner = "KS1"
carrier = "steam"
unit = "吨"
interval_minutes = 60

[[meters]]
id = "K-HT"
owner = "KS1"
carrier = "heat"
unit = "GJ"
interval_minutes = 60

# a wide GBK daily report: a title line, the header, a units row, one column per transformer
[profiles.wide_report]
layout = "wide"
header_row = 2
skip_rows = 1
meters = { "1#变压器" = "K-EL-01", "2#变压器" = "K-EL-02" }
unit = "度"

# an energy-management system that writes 01.03.2025 00:15 and 1.234,5
[profiles.ems_eu]
columns = { "Zähler" = "meter_id", "Zeit" = "timestamp", "Wert" = "value" }
timestamp_format = "%d.%m.%Y %H:%M"
decimal = ","
thousands = "."
delimiter = ";"

# the legacy .xls of the steam system: sheet "蒸汽", meter names instead of ids
[profiles.steam_xls]
sheet = "蒸汽"
meters = { "1号蒸汽表" = "K-ST" }
"""


def main() -> None:
    (HERE / "park.toml").write_text(PARK, encoding="utf-8")
    # 1. Chinese headers in an .xlsx, units spelt five ways: 1.5 + 2.5 + 3 + 4 + 0.0001 万千瓦时 (1 kWh) = 12 kWh
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["表计编号", "采集时间", "读数", "单位"])
    t0 = dt.datetime(2025, 3, 1)
    for i, (v, u) in enumerate([(1.5, "度"), (2.5, "千瓦时"), (3, "kwh"), (4, "KWH"), (0.0001, "万千瓦时")]):
        ws.append(["K-EL-01", t0 + dt.timedelta(minutes=15 * (i + 1)), v, u])
    wb.save(HERE / "chinese_headers.xlsx")
    # a sheet whose headers name nothing greenpark knows
    wb = openpyxl.Workbook()
    wb.active.append(["编号", "时刻", "数"])
    wb.active.append(["K-EL-01", "2025-03-01 00:15", 1])
    wb.save(HERE / "bad_headers.xlsx")
    # 2. GBK CSV from a Chinese Windows program: 10 + 20 + 30.25 = 60.25 kWh
    rows = ["表号,抄表时间,用量,单位", "K-EL-02,2025-03-02 00:15,10,度", "K-EL-02,2025-03-02 00:30,20,度",
            "K-EL-02,2025-03-02 00:45,30.25,MWH"]
    rows[3] = "K-EL-02,2025-03-02 00:45,0.03025,MWH"
    (HERE / "gbk.csv").write_bytes(("\r\n".join(rows) + "\r\n").encode("gbk"))
    # 3. UTF-8 with BOM, the English columns: 5 + 6 = 11 kWh
    (HERE / "bom.csv").write_bytes(b"\xef\xbb\xbf" + b"meter_id,timestamp,value\nK-EL-02,2025-03-03 00:15,5\n"
                                   b"K-EL-02,2025-03-03 00:30,6\n")
    # 4. thousands separators, full-width digits, spaces: 1234008 + 1234.5 + 12 + 1000000.25 = 2236254.75 kWh
    (HERE / "numbers.csv").write_text(
        "表号,时间,读数\n"
        'K-EL-01,2025-03-04 00:15,"1,234,008.0"\n'
        "K-EL-01,2025-03-04 00:30,１２３４．５\n"
        'K-EL-01,2025-03-04 00:45," 12 "\n'
        'K-EL-01,2025-03-04 01:00,"1,000,000.25"\n'
        'K-EL-01,2025-03-04 01:15,"1,5"\n', encoding="utf-8")  # a decimal comma without a profile: unparsable
    # 5. a wide GBK daily report (title, header, units row; one column per transformer), 96 quarter hours
    lines = ["昆山某厂 变压器电量日报", "时间,1#变压器,2#变压器", "单位,度,度"]
    for q in range(96):
        t = dt.datetime(2025, 3, 5) + dt.timedelta(minutes=15 * (q + 1))
        lines.append(f"{t:%Y/%m/%d %H:%M},{q + 1},{2 * (q + 1)}")  # sums 4656 and 9312
    (HERE / "wide_report.csv").write_bytes(("\r\n".join(lines) + "\r\n").encode("gb18030"))
    # 6. a monthly gas bill, the months labelled six ways, units 立方米 方 Nm³ 标方 m³: 1000 * (1..12) = 78000 m3
    labels = ["2025-01", "2025年2月", "202503", "2025/4", "2025年5月1日", "20250601", "2025-07", "2025年8月",
              "202509", "2025/10", "2025年11月1日", "20251201"]
    units_ = ["立方米", "方", "Nm³", "标方", "m³", "m3"] * 2
    gas = ["月份,用气量,单位,表号"] + [f"{lab},{1000 * (i + 1)},{u},K-GAS" for i, (lab, u) in
                                     enumerate(zip(labels, units_, strict=True))]
    (HERE / "gas_bill_2025.csv").write_bytes(("\n".join(gas) + "\n").encode("gb18030"))
    # 7. a monthly water bill in 吨, t, T, 方 and m³ (1 m3 of water = 1 t): 100 + 200 + ... + 1200 = 7800 t
    wunits = ["吨", "t", "T", "方", "m³", "立方米"] * 2
    water = ["表号,月份,用水量,单位"] + [f"K-WA,2025年{m}月,{100 * m},{wunits[m - 1]}" for m in range(1, 13)]
    (HERE / "water_bill_2025.csv").write_text("\n".join(water) + "\n", encoding="utf-8-sig")
    # 8. daily labels: 2025年3月1日, 20250302, 2025/3/3 -> 7 + 8 + 9 = 24 kWh
    (HERE / "daily.csv").write_text("表号,日期,电量\nK-EL-DAY,2025年3月1日,7\nK-EL-DAY,20250302,8\n"
                                    "K-EL-DAY,2025/3/3,9\n", encoding="utf-8")
    # 9. HTML table saved as .xls by a web portal's 导出Excel (GBK, meta charset): GJ 1.5 + 2.5 = 4 GJ of heat
    html = ("<html><head><meta http-equiv='Content-Type' content='text/html; charset=gb2312'></head><body>"
            "<table border=1><tr><th>计量点</th><th>数据时间</th><th>数值</th><th>计量单位</th></tr>"
            "<tr><td>K-HT</td><td>2025-03-06 01:00</td><td>1.5</td><td>吉焦</td></tr>"
            "<tr><td>K-HT</td><td>2025-03-06 02:00</td><td>2.5</td><td>GJ</td></tr></table></body></html>")
    (HERE / "portal_export.xls").write_bytes(html.encode("gb2312"))
    (HERE / "not_a_table.xls").write_bytes("只是一段文字，没有表格。\n".encode("gb18030"))
    # 10. the European-style EMS export (profile ems_eu): 1234.5 + 0.5 = 1235 kWh
    (HERE / "ems_eu.csv").write_text("Zähler;Zeit;Wert\nK-EL-02;07.03.2025 00:15;1.234,5\n"
                                     "K-EL-02;07.03.2025 00:30;0,5\n", encoding="utf-8")
    # 11. an unknown unit on a row: quarantined, the detail names the meter's unit and the spellings
    (HERE / "unknown_unit.csv").write_text("表号,时间,读数,单位\nK-EL-02,2025-03-08 00:15,1,千焦耳\n"
                                           "K-EL-02,2025-03-08 00:30,2,度\n", encoding="utf-8")
    try:
        import xlwt
    except ImportError:
        return
    # 12. a legacy .xls (BIFF8) on sheet 蒸汽, dates as Excel dates, steam in 吨 and T: 1.25 + 2.75 + 3 = 7 t
    book = xlwt.Workbook(encoding="utf-8")
    book.add_sheet("说明").write(0, 0, "蒸汽月报")
    sh = book.add_sheet("蒸汽")
    style = xlwt.easyxf(num_format_str="yyyy-mm-dd hh:mm")
    for c, h in enumerate(["仪表编号", "时间", "示数", "单位"]):
        sh.write(0, c, h)
    for r, (v, u) in enumerate([(1.25, "吨"), (2.75, "T"), (3, "t")], start=1):
        sh.write(r, 0, "1号蒸汽表")
        sh.write(r, 1, dt.datetime(2025, 3, 9, r), style)
        sh.write(r, 2, v)
        sh.write(r, 3, u)
    book.save(str(HERE / "legacy.xls"))


if __name__ == "__main__":
    main()
