"""Sourced, versioned reference data (coefficients, factors, breakpoints, limits).

Every number greenpark computes with lives in a data file under ``reference/data/`` with its
source (standard and clause/table, or notice and date), a status mark and a validity period.
``reference/data/catalog.toml`` lists the datasets; this module is the one registry that loads
them and answers "which value applies on this date".

Status marks (see ``shared/reference/standards.md``):

- ``C2+``        corroborated by two or more independent secondary sources;
- ``C1``         one secondary source read; re-check against the official text before release;
- ``UNVERIFIED`` not confirmed: never used silently, every output that uses it is flagged;
- ``USER``       supplied by the user (park.toml), with the provenance the user gave.

Layer: base. Imports only the standard library (pyarrow inside the table loader); everything
else may import it.
"""

from __future__ import annotations

import csv
import datetime as dt
import tomllib
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

STATUSES = ("C2+", "C1", "UNVERIFIED", "USER")
#: columns every dataset row must have
REQUIRED_COLUMNS = ("id", "status", "source")


class ReferenceError(LookupError):
    """A dataset or key that does not exist; the message lists the valid choices."""


@dataclass(frozen=True)
class Dataset:
    """One reference table: rows (dicts with typed values) and the dataset's metadata."""

    name: str
    title: str
    file: str
    meta: dict[str, Any]
    rows: tuple[dict[str, Any], ...] = field(repr=False)

    @property
    def ids(self) -> list[str]:
        return [r["id"] for r in self.rows]

    def get(self, id: str) -> dict[str, Any]:
        """The row with this ``id``; the error lists the valid ids."""
        for r in self.rows:
            if r["id"] == id:
                return r
        raise ReferenceError(f"{self.name}: no entry '{id}'. Valid ids: {', '.join(self.ids)}")

    def valid_on(self, day: dt.date) -> list[dict[str, Any]]:
        """Rows whose validity period (``valid_from`` .. ``valid_to``, inclusive) covers ``day``."""
        return [r for r in self.rows if _covers(r, day)]

    def to_arrow(self):
        import pyarrow as pa

        return pa.Table.from_pylist(list(self.rows))


def _covers(row: dict[str, Any], day: dt.date) -> bool:
    lo, hi = row.get("valid_from"), row.get("valid_to")
    return (lo is None or lo <= day) and (hi is None or day <= hi)


def _convert(column: str, text: str, types: dict[str, str]) -> Any:
    text = text.strip()
    if text == "":
        return None
    kind = types.get(column, "str")
    if column in ("valid_from", "valid_to") or kind == "date":
        return dt.date.fromisoformat(text)
    if kind == "float":
        return float(text)
    if kind == "int":
        return int(text)
    if kind == "bool":
        return text.lower() in ("1", "true", "yes")
    return text


@cache
def catalog() -> dict[str, dict[str, Any]]:
    """The dataset catalog: name -> metadata (file, title, edition, standard, column types)."""
    text = resources.files(__package__).joinpath("data/catalog.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)["dataset"]


@cache
def load(name: str) -> Dataset:
    """Load the dataset ``name`` from its data file, checking statuses and required columns."""
    cat = catalog()
    if name not in cat:
        raise ReferenceError(f"no reference dataset '{name}'. Valid names: {', '.join(sorted(cat))}")
    meta = cat[name]
    types = meta.get("types", {})
    path = resources.files(__package__).joinpath("data", meta["file"])
    with path.open(encoding="utf-8", newline="") as fh:
        lines = [ln for ln in fh if not ln.startswith("#")]
    reader = csv.DictReader(lines)
    missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise ReferenceError(f"{meta['file']}: missing required columns {missing}")
    rows = []
    for n, raw in enumerate(reader, start=2):
        row = {k: _convert(k, v or "", types) for k, v in raw.items()}
        if row["status"] not in STATUSES:
            raise ReferenceError(f"{meta['file']} line {n}: status '{row['status']}' is not one of {STATUSES}")
        rows.append(row)
    ids = [r["id"] for r in rows]
    dupes = {i for i in ids if ids.count(i) > 1}
    if dupes:
        raise ReferenceError(f"{meta['file']}: duplicate ids {sorted(dupes)}")
    return Dataset(name=name, title=meta.get("title", name), file=meta["file"], meta=meta, rows=tuple(rows))


def edition_for(standard: str, day: dt.date) -> str:
    """The edition of ``standard`` in force on ``day``, from the ``editions`` dataset."""
    rows = [r for r in load("editions").rows if r["standard"] == standard]
    if not rows:
        known = sorted({r["standard"] for r in load("editions").rows})
        raise ReferenceError(f"no editions known for '{standard}'. Known standards: {', '.join(known)}")
    hits = [r for r in rows if _covers(r, day)]
    if not hits:
        raise ReferenceError(f"no edition of {standard} in force on {day.isoformat()}")
    return hits[0]["edition"]


def citation(row: dict[str, Any]) -> dict[str, Any]:
    """The provenance of one reference value, as shown in lineage: id, value, unit, source, status."""
    keys = ("id", "value", "unit", "source", "clause", "status", "valid_from", "valid_to", "note")
    out = {k: row.get(k) for k in keys if row.get(k) is not None}
    for k in ("valid_from", "valid_to"):
        if k in out:
            out[k] = out[k].isoformat()
    return out
