"""Sourced, versioned reference data (coefficients, factors, breakpoints, limits).

Every number greenpark computes with lives in a data file under ``reference/data/`` with its
source (standard and clause/table, or notice and date), a status mark and a validity period.
``reference/data/catalog.toml`` lists the datasets; this module is the one registry that loads
them and answers "which value applies on this date".

Sources travel with the data: ``reference/data/sources.csv`` holds one full citation per source id
(standard number and title, clause or table, issuing body, notice number, date, public address where
there is one, and what was read). A data row's ``source`` column names its sources by id (``;``
between ids: the primary document first, then the transcriptions it was read through), and
:func:`load` replaces the ids by the full citations, so every lineage that prints ``source``
prints them. :func:`source` looks one id up; :func:`source_ids` gives the ids of a dataset's rows.

Status marks (how well a value is corroborated; what each source is, is in ``sources.csv``):

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

from greenpark.errors import InputError

STATUSES = ("C2+", "C1", "UNVERIFIED", "USER")
#: columns every dataset row must have
REQUIRED_COLUMNS = ("id", "status", "source")


class ReferenceError(InputError, LookupError):
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


def _read_rows(name: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(catalog metadata, rows as raw typed dicts) of dataset ``name``; source ids unresolved."""
    cat = catalog()
    if name not in cat:
        raise ReferenceError(f"no reference dataset '{name}'. Valid names: {', '.join(sorted(cat))}")
    meta = cat[name]
    types = meta.get("types", {})
    path = resources.files(__package__).joinpath("data", meta["file"])
    with path.open(encoding="utf-8", newline="") as fh:
        lines = [ln for ln in fh if not ln.startswith("#")]
    reader = csv.DictReader(lines)
    required = meta.get("required", REQUIRED_COLUMNS)
    missing = [c for c in required if c not in (reader.fieldnames or [])]
    if missing:
        raise ReferenceError(f"{meta['file']}: missing required columns {missing}")
    rows = []
    for n, raw in enumerate(reader, start=2):
        row = {k: _convert(k, v or "", types) for k, v in raw.items()}
        if "status" in required and row["status"] not in STATUSES:
            raise ReferenceError(f"{meta['file']} line {n}: status '{row['status']}' is not one of {STATUSES}")
        rows.append(row)
    return meta, rows


SOURCES = "sources"


@cache
def _sources() -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in _read_rows(SOURCES)[1]}


def source(id: str) -> dict[str, Any]:
    """The full citation of source ``id`` (a row of ``sources.csv``); the error lists the valid ids."""
    src = _sources()
    if id not in src:
        raise ReferenceError(f"no source '{id}' in sources.csv. Valid ids: {', '.join(sorted(src))}")
    return src[id]


def format_source(id: str) -> str:
    """One source as text: citation, issuer, notice, date, address, then ``[id]``."""
    r = source(id)
    parts = [r.get(k) for k in ("citation", "issuer", "notice", "date", "address")]
    return ", ".join(str(p) for p in parts if p) + f" [{id}]"


def split_source_ids(text: str | None) -> list[str]:
    """The ids of a ``source`` cell (``;`` between ids)."""
    return [t.strip() for t in str(text or "").split(";") if t.strip()]


def cite(ids: str) -> str:
    """Full citation text of a ``source`` cell: the primary source, then "read in:" the transcriptions."""
    found = [format_source(i) for i in split_source_ids(ids)]
    if not found:
        raise ReferenceError("a reference row without a source id")
    return found[0] + ("; read in: " + "; ".join(found[1:]) if len(found) > 1 else "")


def source_ids(name: str) -> list[tuple[str, list[str]]]:
    """``(row id, source ids)`` of every row of dataset ``name`` as written in its data file."""
    return [(r["id"], split_source_ids(r["source"])) for r in _read_rows(name)[1]]


@cache
def load(name: str) -> Dataset:
    """Load the dataset ``name`` from its data file, checking statuses and required columns; the
    ``source`` ids of each row are replaced by their full citations (:func:`cite`)."""
    meta, rows = _read_rows(name)
    if name != SOURCES:
        for r in rows:
            r["source"] = cite(r["source"])
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
