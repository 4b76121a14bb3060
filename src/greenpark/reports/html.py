"""Self-contained HTML reports (no external assets): figures embedded as PNG data, every number
with the factor or coefficient and source behind it."""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any

_CSS = """
body{font-family:"Noto Sans CJK SC","Noto Sans SC","Microsoft YaHei",Arial,sans-serif;margin:2em auto;max-width:960px;
color:#1d2b36;line-height:1.45}
h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #cfd8dc}
table{border-collapse:collapse;width:100%;margin:.6em 0}td,th{border:1px solid #cfd8dc;padding:.3em .5em;text-align:left}
th{background:#eef3f5}td.num{text-align:right;font-variant-numeric:tabular-nums}
.ok{color:#1b5e20;font-weight:bold}.bad{color:#b71c1c;font-weight:bold}.flag{color:#8d6e00}
.unverified{color:#b71c1c}small{color:#546e7a}img{max-width:100%;border:1px solid #cfd8dc}
"""


def _e(x: Any) -> str:
    return html.escape("" if x is None else str(x))


def _num(x: Any, digits: int = 2) -> str:
    return "—" if x is None else f"{x:,.{digits}f}"


def page(title: str, body: str) -> str:
    return (f"<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'><title>{_e(title)}</title>"
            f"<style>{_CSS}</style></head><body>{body}</body></html>")


def png_img(path: str | Path | None, alt: str) -> str:
    if not path or not Path(path).exists():
        return ""
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return f"<img alt='{_e(alt)}' src='data:image/png;base64,{data}'>"


def mv_savings_report(res: dict, plot_path: str | Path | None = None) -> str:
    """The M&V savings report of ``greenpark mv savings --html``: project, model, statistics against
    the criteria, verified savings with uncertainty, tce and tCO2 with their factors, flags, figure."""
    pr, sv, vd, mt = res["project"], res["savings"], res["verdict"], res["metrics"]
    unc = sv.get("uncertainty") or {}
    rows = [("Avoided energy 节能量", f"{_num(sv['energy'], 0)} {_e(sv['unit'])} ± {_num(unc.get('absolute'), 0)} "
             f"({_num(100 * (unc.get('confidence') or 0), 0)} % confidence)"),
            ("Adjusted baseline 调整后基准", f"{_num(sv['adjusted_baseline'], 0)} {_e(sv['unit'])}"),
            ("Reporting period actual 报告期实际", f"{_num(sv['reporting'], 0)} {_e(sv['unit'])}"),
            ("Saving fraction 节能率", f"{_num(100 * (sv.get('fraction') or 0), 1)} %")]
    if sv.get("tce"):
        c = sv["tce"]["coefficient"]
        rows.append(("Standard coal 折标煤", f"{_num(sv['tce']['value'])} tce (x {_e(c['value'])} {_e(c['unit'])}, "
                     f"{_e(c['id'])} [{_e(c['status'])}], {_e(c['source'])})"))
    if sv.get("tco2"):
        f = sv["tco2"]["factor"]
        rows.append(("Avoided CO₂ 减排", f"{_num(sv['tco2']['value'])} tCO2 (x {_e(f['value'])} {_e(f['unit'])}, "
                     f"{_e(f['id'])} [{_e(f['status'])}], {_e(f['source'])})"))
    if d := sv.get("designed"):
        within = {True: "<span class='ok'>yes 是</span>", False: "<span class='bad'>no 否</span>"}.get(
            d.get("within_uncertainty"), "—")
        rows.append(("Designed saving 设计节能量",
                     f"{_num(d.get('value'), 0)} {_e(d.get('unit'))} per {_e(d.get('per'))} ({_e(d.get('source'))}); "
                     f"{_num(d.get('for_reporting_period'), 0)} {_e(d.get('unit'))} for the "
                     f"{_e(d.get('reporting_days'))}-day reporting period; verified saving within its uncertainty "
                     f"在不确定度内: {within}"))
    crit = "".join(
        f"<tr><td>{_e(c['id'])}</td><td class='num'>{_e(c['value'])}</td><td>{_e(c.get('clause'))}</td>"
        f"<td class='{'unverified' if c['status'] == 'UNVERIFIED' else ''}'>{_e(c['status'])}</td><td>{_e(c['source'])}</td></tr>"
        for c in vd.get("criteria", []))
    flags = res.get("flags", []) + vd.get("flags", [])
    flag_rows = "".join(f"<li class='flag'><b>{_e(f.get('code'))}</b> {_e(f.get('message'))}</li>" for f in flags)
    body = f"""
<h1>{_e(pr.get('name_zh'))} · {_e(pr.get('name_en'))}</h1>
<p><small>M&amp;V project {_e(pr['id'])} · enterprise {_e(pr.get('enterprise'))} · IPMVP Option {_e(pr.get('option'))} ·
meters {_e(', '.join(pr.get('meters', [])))} · weather {_e(pr.get('weather_station'))}<br>
baseline {_e(pr['baseline']['start'])} – {_e(pr['baseline']['end'])} · installation {_e(pr['installation']['start'])} –
{_e(pr['installation']['end'])} · reporting {_e(pr['reporting']['start'])} – {_e(pr['reporting']['end'])}</small></p>
<h2>Verdict 结论</h2>
<p class="{'ok' if vd['fit'] else 'bad'}">{_e(vd['label'])}</p>
<h2>Verified savings 节能量</h2>
<table>{''.join(f'<tr><th>{_e(k)}</th><td>{v}</td></tr>' for k, v in rows)}</table>
<p><small>{_e(unc.get('method'))}</small></p>
{png_img((res.get('plot') or {}).get('path') or plot_path, 'baseline, adjusted baseline and actual')}
<h2>Baseline model 基准模型</h2>
<table><tr><th>model</th><td>{_e(res['model'].get('kind'))} · {_e(res['model'].get('form'))} · balance points
{_e(_balance_points(res['model']))}</td></tr>
<tr><th>CV(RMSE)</th><td class='num'>{_num(100 * mt['cvrmse'], 2)} %</td></tr>
<tr><th>NMBE</th><td class='num'>{_num(100 * mt['nmbe'], 4)} %</td></tr>
<tr><th>R²</th><td class='num'>{_num(mt['r2'], 4)}</td></tr>
<tr><th>n, p, ρ</th><td class='num'>{_e(mt['n'])}, {_e(mt['p'])}, {_num(mt.get('rho'), 3)}</td></tr></table>
<h2>Criteria applied 判定准则</h2>
<table><tr><th>id</th><th>value</th><th>clause</th><th>status</th><th>source</th></tr>{crit}</table>
<h2>Flags 提示</h2><ul>{flag_rows or '<li>none</li>'}</ul>
<p><small>Generated by greenpark from the store's daily rollups; every figure above names its factor and source.</small></p>
"""
    return page(f"M&V {pr['id']}", body)


def _balance_points(model: dict) -> str:
    """Balance points of the model, or of each segment of a segmented model [degC]."""
    segs = model.get("segments") or []
    if not segs:
        return str(model.get("balance_points"))
    return "; ".join(f"{'+'.join(s.get('seasons', []))}/{s.get('days')}: {s.get('form')} {s.get('balance_points')}"
                     for s in segs)


# ---------------------------------------------------------------------------------------------
# report documents (greenpark report ...): one renderer for every report model

_DOC_CSS = """
@page{size:A4 landscape;margin:12mm 10mm}
@media print{body{max-width:none;margin:0;font-size:10pt}table{font-size:.78em}.chart{width:62%}}
table{font-size:.82em}td.num{white-space:nowrap}h2{page-break-after:avoid}
.chart{max-width:760px}.chart svg{width:100%;height:auto}.version td{font-size:.9em}section{margin-bottom:1em}
.flag{color:#8d6e00}small{display:block}
"""


def _lab(label: Any, lang: str | None, sep: str = " · ") -> str:
    from greenpark.reports.model import L

    zh, en = L(label)
    if lang == "zh":
        return zh
    if lang == "en":
        return en
    return zh if zh == en else f"{zh}{sep}{en}"


def _cell(v: Any, digits: int, lang: str | None = None) -> str:
    import math

    if isinstance(v, tuple):
        return f"<td>{_e(_lab(v, lang, ' / '))}</td>"
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "<td class='num'>—</td>"
    if isinstance(v, bool):
        return f"<td>{'✓' if v else '✗'}</td>"
    if isinstance(v, int | float):
        return f"<td class='num'>{v:,.{digits}f}</td>"
    cls = " class='unverified'" if v == "UNVERIFIED" else ""
    return f"<td{cls}>{_e('⚠ UNVERIFIED' if v == 'UNVERIFIED' else v)}</td>"


def table_html(t: Any, lang: str | None) -> str:
    head = "".join(f"<th>{_e(_lab(c.label, lang, ' / '))}{f' [{_e(c.unit)}]' if c.unit else ''}</th>" for c in t.columns)
    body = "".join("<tr>" + "".join(_cell(r.get(c.key), c.digits, lang) for c in t.columns) + "</tr>" for r in t.rows)
    note = f"<small>{_e(_lab(t.note, lang))}</small>" if t.note else ""
    return f"<table id='t-{_e(t.id)}'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{note}"


def document(report: Any, lang: str | None = None) -> str:
    """The report as one self-contained HTML page (inline CSS, charts as inline SVG, no external asset).

    ``lang``: "zh", "en" or None (both side by side). Deterministic: the same model gives the same bytes."""
    from greenpark.reports import charts
    from greenpark.reports.model import Chart, Image, Table, Text

    parts = [f"<h1>{_e(_lab(report.title, lang))}</h1>",
             f"<p><small>{_e(report.subject)} · {_e(report.period)} · greenpark "
             f"{_e(report.data_version.get('greenpark_version'))} · "
             f"{_e(_lab('field.last_import', lang))}: #{_e(report.data_version.get('last_import_id'))} "
             f"{_e(report.data_version.get('last_import_finished'))}</small></p>"]
    for s in report.sections:
        parts.append(f"<section id='s-{_e(s.id)}'><h2>{_e(_lab(s.title, lang))}</h2>")
        for b in s.blocks:
            if isinstance(b, Table):
                if b.title != s.title:
                    parts.append(f"<h3>{_e(_lab(b.title, lang))}</h3>")
                parts.append(table_html(b, lang))
            elif isinstance(b, Chart):
                if any(v is not None for _, vals in b.series for v in vals) and b.categories:
                    parts.append(f"<div class='chart'>{charts.svg(b, lang)}</div>")
            elif isinstance(b, Image):
                data = base64.b64encode(b.png).decode("ascii")
                parts.append(f"<img alt='{_e(_lab(b.title, lang))}' src='data:image/png;base64,{data}'>")
            elif isinstance(b, Text):
                parts.append(f"<p class='{_e(b.style)}'>{_e(_lab(b.text, lang))}</p>")
        parts.append("</section>")
    html_lang = "en" if lang == "en" else "zh-CN"
    title = _lab(report.title, lang)
    return (f"<!doctype html><html lang='{html_lang}'><head><meta charset='utf-8'><title>{_e(title)}</title>"
            f"<style>{_CSS}{_DOC_CSS}</style></head><body>{''.join(parts)}</body></html>")
