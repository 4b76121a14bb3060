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
