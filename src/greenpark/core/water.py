"""Surface-water quality classes after GB 3838-2002 Table 1 (single-factor evaluation, cl. 5.1).

Limits come from the ``gb3838_limits`` dataset through ``greenpark.reference``.

Entry points (what the store/CLI layer calls for ``greenpark water --period``)
-------------------------------------------------------------------------------
``classify_samples_gb3838(samples, sections) -> DataFrame``
    Class of every sample value. ``samples``: long rows ``section_id, date, parameter, value``
    (parameters as in ``gb3838_limits``: ph, do, codmn, cod, bod5, nh3n, tp, tn, cu, ..., values in
    [mg/L]; pH [1]; faecal coliform [1/L]). ``sections``: ``section_id, water_body`` ("river" or
    "lake"; lakes and reservoirs use the lake TP limits and the TN limits).
``evaluate_sections_gb3838(samples, sections, start=None, end=None) -> WaterEvaluation``
    Class per section for a period, the parameters that exceed class III with their exceedance
    multiples, and the share of sections in classes I-III.

Rules
-----
- A value's class is the best class whose limit it meets: ``C <= limit`` for upper limits,
  ``C >= limit`` for dissolved oxygen (higher is better), ``6 <= pH <= 9`` for pH (the same range
  for every class). A value that meets no class is class 6, reported as "劣V" (worse than V).
- Values are compared with the limits as exact decimals: a value (or period mean) within
  ``EXACT_RTOL`` (1e-9, relative) of a limit *is* the limit. Binary floating point cannot hold
  0.2, so the mean of twelve samples of TP 0.2 mg/L is 0.20000000000000004; compared naively it
  "exceeds" class III. Samples are decimals with far fewer than 9 significant digits, so the
  tolerance only removes floating-point residue and never moves a real decimal value across a
  limit (0.2000001 still exceeds 0.2).
- Section class for a period (our rule, documented): each parameter's arithmetic **period mean**
  of the samples in the period is classified; for pH the worst class of the individual samples
  is used (a mean of pH values hides excursions on both sides). The section class is the worst
  parameter class (single-factor evaluation, GB 3838-2002 cl. 5.1).
- Exceedance multiple (超标倍数) for parameters worse than class III: ``(C - S_III) / S_III``,
  ``S_III`` the class III limit; none for DO and pH (环办〔2011〕22号, C1).
- TN has limits for lakes and reservoirs only (Table 1 "湖、库"): on a river section it is not
  classified and carries ``water.parameter_not_applicable``. Unknown parameters carry
  ``water.unknown_parameter``. Negative values are failures (:class:`WaterInputError`).
- Good-water share (优良水质断面比例): sections in classes I-III / sections evaluated x 100 [%]
  (national reporting practice; clause not read: UNVERIFIED, flagged).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from greenpark import reference
from greenpark.errors import DataError
from greenpark.findings import flag

CLASS_LABELS = {1: "I", 2: "II", 3: "III", 4: "IV", 5: "V", 6: "劣V"}
CLASS_COLUMNS = ("class_1", "class_2", "class_3", "class_4", "class_5")
WATER_BODIES = ("river", "lake")
#: relative tolerance under which a value equals a limit (floating-point residue of decimal means)
EXACT_RTOL = 1e-9


class WaterInputError(DataError, ValueError):
    """Samples or sections that cannot be evaluated."""


@dataclass
class WaterEvaluation:
    """Per-section classes for a period and the good-water share."""

    period: dict[str, str | None]
    sections: pd.DataFrame
    parameters: pd.DataFrame
    good_share_pct: float | None
    flags: list[dict[str, Any]] = field(default_factory=list)
    references: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["sections"] = self.sections.to_dict(orient="records")
        d["parameters"] = self.parameters.to_dict(orient="records")
        return d


def limits_gb3838() -> pd.DataFrame:
    """GB 3838-2002 Table 1 limits, one row per (parameter, water_body) with body "river" or "lake"."""
    t = pd.DataFrame(reference.load("gb3838_limits").rows)
    allb = t[t["water_body"] == "all"]
    spec = t[t["water_body"] != "all"]
    both = pd.concat([allb.assign(water_body=b) for b in WATER_BODIES] + [spec], ignore_index=True)
    return both


def _sections_frame(sections) -> pd.DataFrame:
    if isinstance(sections, dict):
        sections = pd.DataFrame({"section_id": list(sections), "water_body": list(sections.values())})
    if not {"section_id", "water_body"} <= set(sections.columns):
        raise WaterInputError("sections need columns section_id and water_body (river or lake)")
    bad = sorted(set(sections["water_body"]) - set(WATER_BODIES))
    if bad:
        raise WaterInputError(f"water_body must be 'river' or 'lake' (found {bad})")
    return sections[["section_id", "water_body"]].drop_duplicates("section_id")


def _class_of(values: np.ndarray, lim: pd.DataFrame) -> np.ndarray:
    """Class 1..6 of each value against the limit rows aligned with it (NaN where no limit)."""
    v = values.astype(float)
    cls = np.full(len(v), np.nan)
    kind = lim["kind"].to_numpy()
    L = lim[list(CLASS_COLUMNS)].to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        ok_max = v[:, None] <= L * (1 + EXACT_RTOL)
        ok_min = v[:, None] >= L * (1 - EXACT_RTOL)
    ok = np.where((kind == "min")[:, None], ok_min, ok_max)
    first = np.where(ok.any(axis=1), ok.argmax(axis=1) + 1, 6)
    m = np.isin(kind, ("max", "min")) & ~np.isnan(v)
    cls[m] = first[m]
    r = (kind == "range") & ~np.isnan(v)
    lo, hi = lim["range_lo"].to_numpy(dtype=float), lim["range_hi"].to_numpy(dtype=float)
    cls[r] = np.where((v[r] >= lo[r] * (1 - EXACT_RTOL)) & (v[r] <= hi[r] * (1 + EXACT_RTOL)), 1, 6)
    return cls


def _exceedance(values: np.ndarray, cls: np.ndarray, lim: pd.DataFrame) -> np.ndarray:
    s3 = lim["class_3"].to_numpy(dtype=float)
    out = np.full(len(values), np.nan)
    m = (lim["kind"].to_numpy() == "max") & (cls > 3)
    out[m] = (values[m] - s3[m]) / s3[m]
    return np.round(out, 3)


def classify_samples_gb3838(samples: pd.DataFrame, sections) -> pd.DataFrame:
    """Class (1-6) and class label of every sample value, GB 3838-2002 Table 1.

    Returns ``samples`` plus ``water_body``, ``class``, ``class_label``, ``exceedance_multiple``
    (worse than class III, upper-limit parameters only) and ``flags``.
    """
    need = {"section_id", "date", "parameter", "value"}
    if not need <= set(samples.columns):
        raise WaterInputError(f"samples need columns {sorted(need)}; have {list(samples.columns)}")
    secs = _sections_frame(sections)
    s = samples.merge(secs, on="section_id", how="left")
    unknown_sec = s["water_body"].isna()
    if unknown_sec.any():
        raise WaterInputError(f"sections missing for section_id {sorted(s.loc[unknown_sec, 'section_id'].unique())[:5]}")
    v = pd.to_numeric(s["value"], errors="coerce").to_numpy(dtype=float)
    if (v < 0).any():
        i = int(np.flatnonzero(v < 0)[0])
        raise WaterInputError(f"negative value at row {i}: {s.iloc[i].to_dict()}")
    lim = limits_gb3838()
    s = s.merge(lim.drop(columns=["name_zh", "note", "source", "status"]).rename(columns={"id": "limit_id"}),
                on=["parameter", "water_body"], how="left")
    v = pd.to_numeric(s["value"], errors="coerce").to_numpy(dtype=float)
    cls = _class_of(v, s)
    known = set(lim["parameter"])
    flags = np.full(len(s), "", dtype=object)
    na = s["limit_id"].isna().to_numpy()
    flags[na & s["parameter"].isin(known).to_numpy()] = "water.parameter_not_applicable"
    flags[na & ~s["parameter"].isin(known).to_numpy()] = "water.unknown_parameter"
    out = samples.copy()
    out["water_body"] = s["water_body"].to_numpy()
    out["class"] = pd.array(np.where(np.isnan(cls), pd.NA, cls), dtype="Int64")
    out["class_label"] = pd.Series(cls).map(CLASS_LABELS).fillna("").to_numpy()
    out["exceedance_multiple"] = _exceedance(v, cls, s)
    out["limit_id"] = s["limit_id"].to_numpy()
    out["flags"] = flags
    return out


def evaluate_sections_gb3838(samples: pd.DataFrame, sections, start: dt.date | None = None,
                             end: dt.date | None = None) -> WaterEvaluation:
    """Section classes for the period ``start``..``end`` (inclusive; None = all samples).

    Returns a WaterEvaluation with ``sections`` (section_id, water_body, n_samples, class,
    class_label, meets_iii, exceeding: "param(multiple);..." above class III) and ``parameters``
    (section_id, parameter, period value, class, exceedance_multiple, flags).
    """
    s = samples.copy()
    s["date"] = pd.to_datetime(s["date"])
    if start is not None:
        s = s[s["date"] >= pd.Timestamp(start)]
    if end is not None:
        s = s[s["date"] <= pd.Timestamp(end)]
    if s.empty:
        raise WaterInputError("no water samples in the period")
    per_sample = classify_samples_gb3838(s, sections)
    # period value: mean of samples (pH: the worst sample decides, see module docstring)
    grp = per_sample.groupby(["section_id", "parameter"], sort=True)
    period = grp["value"].mean().rename("value").reset_index()
    period["n_samples"] = grp["value"].count().to_numpy()
    per = period.merge(_sections_frame(sections), on="section_id", how="left")
    classified = classify_samples_gb3838(per.assign(date=pd.NaT)[["section_id", "date", "parameter", "value"]],
                                         sections)
    per["class"] = classified["class"].to_numpy()
    per["exceedance_multiple"] = classified["exceedance_multiple"].to_numpy()
    per["flags"] = classified["flags"].to_numpy()
    per["limit_id"] = classified["limit_id"].to_numpy()
    worst_sample = grp["class"].max().reset_index().rename(columns={"class": "worst_sample_class"})
    per = per.merge(worst_sample, on=["section_id", "parameter"], how="left")
    ph = (per["parameter"] == "ph").to_numpy()
    per.loc[ph, "class"] = per.loc[ph, "worst_sample_class"]
    per["class_label"] = per["class"].astype("float").map(CLASS_LABELS).fillna("")

    sec = per.dropna(subset=["class"]).groupby("section_id", sort=True).agg(
        water_body=("water_body", "first"), cls=("class", "max"))
    nsamp = per_sample.groupby("section_id")["date"].nunique().rename("n_samples")
    sec = sec.join(nsamp)
    bad = per[(per["class"] > 3).fillna(False)].copy()
    bad["item"] = np.where(bad["exceedance_multiple"].notna(),
                           bad["parameter"] + "(" + bad["exceedance_multiple"].map("{:g}".format).astype(str) + ")",
                           bad["parameter"])
    sec["exceeding"] = bad.groupby("section_id")["item"].agg(";".join).reindex(sec.index).fillna("")
    sec = sec.reset_index().rename(columns={"cls": "class"})
    sec["class"] = sec["class"].astype("Int64")
    sec["class_label"] = sec["class"].astype(float).map(CLASS_LABELS)
    sec["meets_iii"] = (sec["class"] <= 3).astype(bool)
    share = None if sec.empty else round(100.0 * sec["meets_iii"].sum() / len(sec), 1)

    flags: list[dict[str, Any]] = []
    for code, n in per.loc[per["flags"] != "", "flags"].value_counts().sort_index().items():
        flags.append(flag(code, section_parameters=int(n)))
    flags.append(flag("water.good_share_definition_unverified",
                      "good-water share = sections in classes I-III / evaluated sections; clause not read"))
    used = set(per["limit_id"].dropna())
    refs = [reference.citation(r) for r in reference.load("gb3838_limits").rows if r["id"] in used and r["status"] != "C2+"]
    return WaterEvaluation(
        period={"start": None if start is None else start.isoformat(), "end": None if end is None else end.isoformat()},
        sections=sec[["section_id", "water_body", "n_samples", "class", "class_label", "meets_iii", "exceeding"]],
        parameters=per[["section_id", "parameter", "value", "n_samples", "class", "class_label",
                        "exceedance_multiple", "flags"]],
        good_share_pct=share, flags=flags, references=refs)
