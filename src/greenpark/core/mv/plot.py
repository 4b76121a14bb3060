"""PNG figure of an M&V result: baseline fit, adjusted baseline and actual energy.

Uses matplotlib's Agg canvas directly (no global backend switch, no display needed). Labels are
bilingual (English / Chinese) when a CJK font is installed (e.g. Debian ``fonts-noto-cjk``), found
through ``matplotlib.font_manager``; otherwise English only, so no tofu boxes appear.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

#: CJK font families tried in order (Simplified Chinese first)
CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Noto Sans CJK JP", "Noto Serif CJK SC",
                "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "Droid Sans Fallback", "SimHei", "Microsoft YaHei",
                "PingFang SC", "AR PL UMing CN")

LABELS = {
    "baseline": ("Baseline model", "基线模型"),
    "adjusted": ("Adjusted baseline", "调整后基线"),
    "actual": ("Actual", "实际能耗"),
    "savings": ("Avoided energy", "节能量"),
    "retrofit": ("Retrofit", "改造"),
    "energy": ("Energy", "能耗"),
    "title": ("Measurement & verification", "节能量测量与验证"),
}


def cjk_font() -> str | None:
    """Name of an installed CJK font family, or None."""
    from matplotlib import font_manager

    names = {f.name for f in font_manager.fontManager.ttflist}
    return next((n for n in CJK_FAMILIES if n in names), None)


def _label(key: str, cjk: bool) -> str:
    en, zh = LABELS[key]
    return f"{en} {zh}" if cjk else en


def savings_png(baseline: pd.DataFrame | None, reporting: pd.DataFrame, path: str | Path, *, unit: str = "kWh",
                freq: str = "W", title: str | None = None, title_zh: str | None = None,
                cjk: bool | None = None) -> dict[str, Any]:
    """Write a PNG of the baseline fit, the adjusted baseline and the actual energy.

    Parameters
    ----------
    baseline : ``model.predict(baseline_data)`` (observed, predicted) or None
    reporting : ``model.predict(reporting_data)`` (observed, predicted)
    path : output PNG file
    unit : meter unit for the axis label
    freq : resampling of the daily/hourly values for legibility (pandas offset; default weekly means)
    title, title_zh : figure title in English and Chinese (Chinese shown only with a CJK font)
    cjk : force bilingual labels on/off; default: on when a CJK font is installed

    Returns
    -------
    dict: ``path``, ``cjk`` (bool), ``font`` (family used or None)
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    font = cjk_font()
    use_cjk = (font is not None) if cjk is None else (cjk and font is not None)
    rc = {"font.family": [font, "DejaVu Sans"]} if use_cjk else {}
    import matplotlib

    def agg(df: pd.DataFrame) -> pd.DataFrame:
        ok = df["observed"].notna() & df["predicted"].notna()
        # mean per period of the input resolution, so partial weeks at the period edges do not dip
        return df.loc[ok, ["observed", "predicted"]].resample(freq).mean()

    with matplotlib.rc_context(rc):
        fig = Figure(figsize=(10, 4.5), dpi=110)
        FigureCanvasAgg(fig)
        ax = fig.add_subplot(1, 1, 1)
        if baseline is not None and len(baseline):
            b = agg(baseline)
            ax.plot(b.index, b["observed"], color="0.35", lw=1.2, label=_label("actual", use_cjk))
            ax.plot(b.index, b["predicted"], color="tab:blue", lw=1.2, ls="--", label=_label("baseline", use_cjk))
        r = agg(reporting)
        if len(r):
            ax.plot(r.index, r["predicted"], color="tab:orange", lw=1.5, label=_label("adjusted", use_cjk))
            ax.plot(r.index, r["observed"], color="0.1", lw=1.2,
                    label=None if baseline is not None and len(baseline) else _label("actual", use_cjk))
            ax.fill_between(r.index, r["observed"], r["predicted"], where=r["predicted"] >= r["observed"],
                            color="tab:green", alpha=0.25, label=_label("savings", use_cjk))
            ax.axvline(r.index[0], color="tab:red", lw=0.8, ls=":")
            ax.annotate(_label("retrofit", use_cjk), (r.index[0], 1.0), xycoords=("data", "axes fraction"),
                        va="top", ha="left", fontsize=8, color="tab:red")
        step = pd.Timedelta(pd.DatetimeIndex(reporting.index).to_series().diff().median())
        per = "h" if step <= pd.Timedelta(hours=1) else "d"
        mean_of = {"W": "weekly mean", "D": "daily", "MS": "monthly mean", "ME": "monthly mean"}.get(freq, freq)
        ax.set_ylabel(f"{_label('energy', use_cjk)} [{unit}/{per}], {mean_of}")
        t = title or LABELS["title"][0]
        if use_cjk:
            t = f"{t}  {title_zh or LABELS['title'][1]}"
        ax.set_title(t)
        ax.legend(loc="best", fontsize=8)
        ax.grid(alpha=0.3)
        fig.autofmt_xdate()
        fig.tight_layout()
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, format="png")
    return {"path": str(path), "cjk": bool(use_cjk), "font": font if use_cjk else None}
