"""The M&V figure: a PNG, bilingual only when a CJK font exists (no tofu boxes otherwise)."""

import warnings

import pytest

from greenpark.core.mv import DailyChangePointModel, DailyData
from greenpark.core.mv import plot as mvplot
from greenpark.core.mv import synthetic as syn


@pytest.fixture(scope="module")
def predictions():
    s = syn.die_casting_daily()
    d = DailyData.from_series(s["energy"], s["temperature"], s["production"])
    base, rep = d.between(None, "2024-12-31"), d.between("2025-01-01", None)
    m = DailyChangePointModel().fit(base)
    return m.predict(base), m.predict(rep)


def test_png_written(tmp_path, predictions):
    b, r = predictions
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # a missing glyph would warn
        out = mvplot.savings_png(b, r, tmp_path / "mv.png", title="Die-casting retrofit", title_zh="压铸改造")
    data = (tmp_path / "mv.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    assert out["cjk"] == (mvplot.cjk_font() is not None)


def test_falls_back_to_english_without_cjk_font(tmp_path, predictions, monkeypatch):
    monkeypatch.setattr(mvplot, "cjk_font", lambda: None)
    b, r = predictions
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = mvplot.savings_png(b, r, tmp_path / "en.png", title_zh="压铸改造")
    assert out == {"path": str(tmp_path / "en.png"), "cjk": False, "font": None}
    assert mvplot._label("adjusted", False) == "Adjusted baseline"
    assert mvplot._label("adjusted", True) == "Adjusted baseline 调整后基线"
