"""One finding type and one catalogue of labels.

:class:`Finding` is the coded data-quality or method note that travels with every result (energy,
carbon, targets, air, water, M&V, ingest): a dotted ``code`` (``energy.incomplete_data``), a
``severity`` (``info`` | ``warning`` | ``error``; M&V also uses ``fatal``: the finding alone makes
the result not fit), a ``message`` for people and a ``detail`` dict of facts (ids, counts).

The catalogue (``reference/data/catalogue.csv``; carriers from ``carriers.csv``) gives every code
people see — finding codes, quarantine reasons, carrier / industry / end-use / unit / statistic /
metric ids, roles, statuses, verdicts, error codes — a Chinese and an English label and a meaning.
The CLI, the API (``GET /api/v1/catalogue``) and the dashboard read it through :func:`catalogue`
and :func:`label`. A code may be a pattern with placeholders (``air.insufficient_days.{pollutant}``):
it labels every code of that shape, with the placeholder's own label filled in.

This module imports only the standard library and :mod:`greenpark.reference`'s data files.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any, Literal

__all__ = ["KINDS", "LANGS", "SEVERITIES", "Finding", "catalogue", "finding_dicts", "label", "flag", "labels", "lookup", "meaning", "plural"]

SEVERITIES = ("info", "warning", "error", "fatal")
LANGS = ("zh", "en")
#: kinds of codes in the catalogue
KINDS = ("finding", "reason", "certificate", "carrier", "industry", "end_use", "unit", "statistic", "pollutant",
         "averaging", "parameter", "metric", "role", "status", "verdict", "severity", "error", "action",
         "meter_kind", "meter_role", "water_body", "mv_model", "message", "indicator", "tier", "grade",
         "energy_band", "source_type", "report", "column", "emission_category", "flow")

Severity = Literal["info", "warning", "error", "fatal"]


@dataclass(frozen=True)
class Finding:
    """A coded data-quality or method finding that travels with results.

    Positional order (code, message, severity, detail) is the one M&V has always used; ``Flag`` in
    :mod:`greenpark.core.mv.data` is this class.
    """

    code: str
    message: str = ""
    severity: Severity = "warning"
    detail: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"finding {self.code}: severity '{self.severity}' is not one of {', '.join(SEVERITIES)}")

    def to_dict(self, flat: bool = False) -> dict[str, Any]:
        """``{code, severity, message, detail}``; ``flat=True`` puts the detail's keys beside the
        others instead (the shape of the energy, carbon, targets, air and water JSON)."""
        if flat:
            return {"code": self.code, "severity": self.severity, "message": self.message, **self.detail}
        return {"code": self.code, "severity": self.severity, "message": self.message, "detail": dict(self.detail)}

    def label(self, lang: str = "en") -> str:
        return label("finding", self.code, lang)


def flag(code: str, message: str | None = None, severity: Severity = "warning", **detail: Any) -> dict[str, Any]:
    """A :class:`Finding` as the flat dict the JSON results carry (``code, severity, message`` and the
    detail's keys). Without a message, the catalogue's meaning of the code is the message."""
    return Finding(code, meaning(code) if message is None else message, severity, detail).to_dict(flat=True)


def plural(n: int, singular: str, plural_form: str | None = None) -> str:
    """'1 serial', '2 serials' (English messages)."""
    word = singular if n == 1 else (plural_form or singular + "s")
    return f"{n} {word}"


def finding_dicts(findings: Iterable[Finding], flat: bool = False) -> list[dict[str, Any]]:
    return [f.to_dict(flat=flat) for f in findings]


# ---------------------------------------------------------------------------------------------
# The catalogue
# ---------------------------------------------------------------------------------------------
def _read(name: str) -> list[dict[str, str]]:
    text = resources.files("greenpark.reference").joinpath("data", name).read_text(encoding="utf-8")
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    return list(csv.DictReader(io.StringIO("\n".join(lines))))


@cache
def _rows() -> tuple[dict[str, str], ...]:
    rows = [{"kind": r["kind"], "code": r["code"], "zh": r["zh"], "en": r["en"], "meaning": r.get("meaning") or ""}
            for r in _read("catalogue.csv")]
    for r in _read("carriers.csv"):
        rows.append({"kind": "carrier", "code": r["id"], "zh": r["name_zh"], "en": r["name_en"],
                     "meaning": f"metered in {r['unit']}" + ("; energy-consuming working medium"
                                                              if r.get("working_medium") == "true" else "")})
    seen: set[tuple[str, str]] = set()
    for r in rows:
        key = (r["kind"], r["code"])
        if key in seen:
            raise ValueError(f"catalogue: {r['kind']} '{r['code']}' is listed twice")
        if r["kind"] not in KINDS:
            raise ValueError(f"catalogue: kind '{r['kind']}' of '{r['code']}' is not one of {', '.join(KINDS)}")
        if not r["zh"] or not r["en"]:
            raise ValueError(f"catalogue: {r['kind']} '{r['code']}' needs both a zh and an en label")
        seen.add(key)
    return tuple(rows)


def catalogue() -> list[dict[str, str]]:
    """Every row: ``{kind, code, zh, en, meaning}`` (codes with ``{placeholders}`` are patterns)."""
    return [dict(r) for r in _rows()]


@cache
def _index() -> tuple[dict[tuple[str, str], dict[str, str]], list[tuple[str, re.Pattern, dict[str, str]]]]:
    exact, patterns = {}, []
    for r in _rows():
        if "{" in r["code"]:
            rx = re.escape(r["code"])
            rx = re.sub(r"\\\{(\w+)\\\}", lambda m: f"(?P<{m.group(1)}>[A-Za-z0-9-]+)", rx)
            patterns.append((r["kind"], re.compile(rx + r"\Z"), r))
        else:
            exact[(r["kind"], r["code"])] = r
    return exact, patterns


#: placeholder -> the kind its value is labelled with
_PLACEHOLDER_KIND = {"pollutant": "pollutant", "averaging": "averaging"}


def lookup(kind: str, code: str) -> tuple[dict[str, str], dict[str, str]] | None:
    """The catalogue row of ``code`` (exact, else the first matching pattern) and the placeholder
    values; None if the catalogue does not know it."""
    exact, patterns = _index()
    row = exact.get((kind, code))
    if row is not None:
        return row, {}
    for k, rx, r in patterns:
        if k == kind and (m := rx.match(code)):
            return r, m.groupdict()
    return None


def label(kind: str, code: str | None, lang: str = "en") -> str:
    """The zh or en label of a code; the code itself when the catalogue does not know it (an
    industry or end use typed freely in park.toml)."""
    if code is None:
        return ""
    if lang not in LANGS:
        raise ValueError(f"language '{lang}': use one of {', '.join(LANGS)}")
    hit = lookup(kind, str(code))
    if hit is None:
        return str(code)
    row, params = hit
    text = row[lang]
    for name, value in params.items():
        sub = label(_PLACEHOLDER_KIND[name], value, lang) if name in _PLACEHOLDER_KIND else value
        text = text.replace("{" + name + "}", sub)
    return text


def meaning(code: str, kind: str = "finding") -> str:
    """The catalogue's meaning (English) of a code; the en label when it has none; "" if unknown."""
    hit = lookup(kind, code)
    if hit is None:
        return ""
    return hit[0]["meaning"] or label(kind, code, "en")


def labels(lang: str = "en") -> dict[str, dict[str, str]]:
    """kind -> code -> label, for one language (patterns included as written)."""
    out: dict[str, dict[str, str]] = {}
    for r in _rows():
        out.setdefault(r["kind"], {})[r["code"]] = r[lang]
    return out
