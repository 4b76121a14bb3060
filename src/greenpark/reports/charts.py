"""Charts of a report as inline SVG drawn with matplotlib (no browser, no internet).

Deterministic: a fixed ``svg.hashsalt``, no date in the metadata and text kept as text (``svg.fonttype
= none``) in the CJK font of Debian's fonts-noto-cjk, so unchanged data gives the same SVG bytes and
WeasyPrint draws the Chinese labels in the PDF.
"""

from __future__ import annotations

import io
import re

from greenpark.reports.model import Chart, L

FONTS = ["Noto Sans CJK SC", "Noto Sans SC", "Microsoft YaHei", "DejaVu Sans"]
PALETTE = ["#2e7d32", "#90a4ae", "#1565c0", "#ef6c00", "#6a1b9a"]


def _text(label, lang: str | None) -> str:
    zh, en = L(label)
    return zh if lang == "zh" else en if lang == "en" else (en if zh == en else f"{zh} {en}")


def svg(chart: Chart, lang: str | None = None) -> str:
    """The chart as an ``<svg>`` element (no XML prologue), ready to inline in HTML."""
    import matplotlib
    from matplotlib.figure import Figure

    rc = {"svg.hashsalt": "greenpark", "svg.fonttype": "none", "font.family": "sans-serif",
          "font.sans-serif": FONTS, "font.size": 8, "axes.spines.top": False, "axes.spines.right": False}
    with matplotlib.rc_context(rc):
        n = len(chart.categories)
        h = max(2.6, 0.22 * n + 0.8) if chart.kind == "barh" else 2.8
        fig = Figure(figsize=(7.2, h))
        ax = fig.add_subplot()
        x = list(range(n))
        k = len(chart.series)
        for i, (lab, vals) in enumerate(chart.series):
            v = [float("nan") if y is None else y for y in vals]
            color = PALETTE[i % len(PALETTE)]
            if chart.kind == "line":
                ax.plot(x, v, marker="o", ms=3, color=color, label=_text(lab, lang))
            elif chart.kind == "barh":
                ax.barh([j + i * 0.8 / k for j in x], v, height=0.8 / k, color=color, label=_text(lab, lang))
            else:
                ax.bar([j + i * 0.8 / k - 0.4 + 0.4 / k for j in x], v, width=0.8 / k, color=color,
                       label=_text(lab, lang))
        cats = [_text(c, lang) if isinstance(c, tuple) else str(c) for c in chart.categories]
        if chart.kind == "barh":
            ax.set_yticks(x, cats)
            ax.set_xlabel(chart.unit)
        else:
            ax.set_xticks(x, [c[-2:] if len(c) == 7 and c[4] == "-" else c for c in cats])
            ax.set_ylabel(chart.unit)
        if k > 1:
            ax.legend(frameon=False)
        ax.set_title(_text(chart.title, lang), loc="left", fontsize=9)
        fig.tight_layout()
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": "greenpark"})
    text = buf.getvalue()
    text = text[text.index("<svg"):]
    # ids made unique per chart so that several charts can share one HTML page
    return re.sub(r'(id="|url\(#|href="#)([A-Za-z0-9_]+)', lambda m: f"{m[1]}{chart.id}-{m[2]}", text)
