"""The report as an Excel workbook (openpyxl): one sheet per table, real numbers with units in the
headers, a lineage sheet (the data version and every coefficient) first.

Deterministic: fixed workbook properties (creator, created and modified times taken from the data
version, never the clock) and fixed ZIP entry times, so unchanged data gives an identical file.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from typing import Any

from greenpark.reports.model import L, Report, Table

#: the ZIP entry time and workbook time when the data version has no import time
EPOCH = dt.datetime(2000, 1, 1)


def _lab(label: Any, lang: str | None) -> str:
    zh, en = L(label)
    return zh if lang == "zh" else en if lang == "en" else (zh if zh == en else f"{zh} / {en}")


def _sheet_name(name: str, used: set[str]) -> str:
    base = "".join(ch for ch in name if ch not in "[]:*?/\\")[:31] or "sheet"
    out, i = base, 2
    while out.lower() in used:
        out = f"{base[:28]}_{i}"
        i += 1
    used.add(out.lower())
    return out


def _stamp(report: Report) -> dt.datetime:
    text = report.data_version.get("last_import_finished")
    try:
        t = dt.datetime.fromisoformat(str(text))
    except (TypeError, ValueError):
        return EPOCH
    return t.replace(tzinfo=None, microsecond=0)


def workbook_bytes(report: Report, lang: str | None = None) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    used: set[str] = set()
    ws.title = _sheet_name("lineage", used)
    bold = Font(bold=True)
    ws.append([_lab(report.title, lang)])
    ws["A1"].font = Font(bold=True, size=13)
    ws.append([_lab("col.item", lang), _lab("col.value", lang)])
    for k, v in [("report", report.kind), ("subject", report.subject), ("period", report.period),
                 *report.data_version.items()]:
        ws.append([k, "" if v is None else str(v)])
    tables = report.tables()
    coeffs = [t for t in tables if t.id in ("coefficients", "factors", "criteria")]
    for t in coeffs:  # the lineage sheet also lists every coefficient / factor used
        ws.append([])
        ws.append([_lab(t.title, lang)])
        _write_table(ws, t, lang, bold)
    ws.column_dimensions["A"].width = 28
    ws.column_dimensions["B"].width = 60
    warn = PatternFill("solid", fgColor="FFCDD2")
    for t in tables:
        sh = wb.create_sheet(_sheet_name(t.id, used))
        sh.append([_lab(t.title, lang)])
        sh["A1"].font = Font(bold=True, size=12)
        _write_table(sh, t, lang, bold, warn)
        if t.note:
            sh.append([])
            sh.append([_lab(t.note, lang)])
        for i, c in enumerate(t.columns, start=1):
            sh.column_dimensions[get_column_letter(i)].width = 14 if c.unit or c.digits != 2 else 22
        sh.freeze_panes = "A3"
    when = _stamp(report)
    wb.properties.creator = "greenpark"
    wb.properties.lastModifiedBy = "greenpark"
    wb.properties.title = _lab(report.title, "en")
    wb.properties.created = when
    wb.properties.modified = when
    buf = io.BytesIO()
    wb.save(buf)
    return _fixed_zip(buf.getvalue(), when)


def _write_table(ws, t: Table, lang: str | None, bold, warn=None) -> None:
    ws.append([_lab(c.label, lang) + (f" [{c.unit}]" if c.unit else "") for c in t.columns])
    for cell in ws[ws.max_row]:
        cell.font = bold
    for r in t.rows:
        ws.append([_value(r.get(c.key), lang) for c in t.columns])
        row = ws[ws.max_row]
        for c, cell in zip(t.columns, row, strict=False):
            if isinstance(cell.value, float):
                cell.number_format = "#,##0" if c.digits == 0 else "#,##0." + "0" * c.digits
            if warn is not None and cell.value == "UNVERIFIED":
                cell.fill = warn


def _value(v: Any, lang: str | None = None) -> Any:
    if isinstance(v, tuple):
        return _lab(v, lang)
    if v is None:
        return None
    if isinstance(v, bool):
        return "✓" if v else "✗"
    if isinstance(v, int | float):
        return v if v == v else None
    return str(v)


def _fixed_zip(data: bytes, when: dt.datetime) -> bytes:
    """The same workbook with every ZIP entry at ``when`` (openpyxl stamps the clock time)."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    stamp = (max(when.year, 1980), when.month, when.day, when.hour, when.minute, when.second)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                body = _fix_core(body, when)
            zi = zipfile.ZipInfo(info.filename, date_time=stamp)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = info.external_attr
            dst.writestr(zi, body)
    return out.getvalue()


def _fix_core(body: bytes, when: dt.datetime) -> bytes:
    """openpyxl writes the save time as dcterms:modified; put the data version's time there."""
    import re

    iso = when.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    return re.sub(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)", rb"\g<1>" + iso + rb"\g<2>", body)
