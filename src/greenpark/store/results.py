"""Published carbon results and the registry of certificate uses (schema v3: ``carbon_results``,
``carbon_certificate_uses``).

A result is identified by its key (period, level, region, factor_year_rule, certificate_matching);
the JSON columns (selection, factors, figures, restatement) are written and read as text here and
decoded by :mod:`greenpark.services.carbon_accounts`. Writes run inside the caller's transaction
(``Store.transaction()``), so that a result and its certificate uses commit together or not at all.

On a Spark store (its connection carries the lake) the writes are not SQL: the result's ``period=``
partition of the lake is rewritten with the row added and the restated row marked
(:meth:`greenpark.store.lake.Lake.publish_result`, :meth:`~greenpark.store.lake.Lake.add_uses`), and
the views re-attached, so the same process reads what it published. The two tables are rewritten
one after the other (no transaction spans them on a lake); one publisher at a time per lake.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

_KEY_SQL = "period = ? AND level = ? AND region = ? AND factor_year_rule = ? AND certificate_matching = ?"

#: columns of ``carbon_certificate_uses`` in table order
USES_COLUMNS = ["result_id", "period", "certificate_id", "kind", "enterprise_id", "serial_start", "serial_end",
                "serial_head", "serial_lo", "serial_hi", "applied_mwh"]

#: columns of ``carbon_results`` in table order
RESULT_COLUMNS = ["result_id", "period", "level", "region", "factor_year_rule", "certificate_matching", "published_at",
                  "greenpark_version", "selection", "factors", "figures", "superseded_by", "restates", "restatement"]


def _lake(con):
    """The lake of a Spark store's connection (written as Parquet partitions, not by SQL), else None."""
    return getattr(con, "lake", None)


def current(con, key: list[Any]) -> tuple | None:
    """The current (not superseded) published row of ``key`` (period, level, region or "", rule,
    matching): (result_id, published_at, greenpark_version, selection, factors, figures, restates,
    restatement), the JSON columns as text; None when nothing is published."""
    return con.execute(f"""SELECT result_id, published_at, greenpark_version, selection, factors, figures, restates,
                                  restatement
                           FROM carbon_results WHERE {_KEY_SQL} AND superseded_by IS NULL
                           ORDER BY result_id DESC LIMIT 1""", key).fetchone()


def insert(con, key: list[Any], published_at: dt.datetime, greenpark_version: str, selection: str, factors: str,
           figures: str, restates: int | None, restatement: str | None) -> int:
    """Insert a published result (JSON columns as text) and supersede ``restates``; returns its result_id.
    Inside the caller's transaction."""
    rid = int(con.execute("SELECT coalesce(max(result_id), 0) + 1 FROM carbon_results").fetchone()[0])
    lake = _lake(con)
    if lake is not None:
        lake.publish_result(dict(zip(RESULT_COLUMNS, [rid, *key, published_at, greenpark_version, selection, factors,
                                                      figures, None, restates, restatement], strict=True)))
        return rid
    con.execute("INSERT INTO carbon_results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?)",
                [rid, *key, published_at, greenpark_version, selection, factors, figures, restates, restatement])
    if restates is not None:
        con.execute("UPDATE carbon_results SET superseded_by = ? WHERE result_id = ?", [rid, restates])
    return rid


def insert_uses(con, uses: pd.DataFrame) -> None:
    """Add certificate uses (columns :data:`USES_COLUMNS`) on ``con`` (the publishing connection,
    inside its transaction)."""
    lake = _lake(con)
    if lake is not None:
        lake.add_uses(uses[USES_COLUMNS])
        return
    con.register("_gp_uses", uses[USES_COLUMNS])
    try:
        con.execute("INSERT INTO carbon_certificate_uses SELECT * FROM _gp_uses")
    finally:
        con.unregister("_gp_uses")


def uses_in_other_periods(con, period: int) -> pd.DataFrame:
    """Certificate uses of the current published results of every period but ``period`` (:data:`USES_COLUMNS`)."""
    return con.execute("""SELECT u.* FROM carbon_certificate_uses u JOIN carbon_results r USING (result_id)
                          WHERE r.superseded_by IS NULL AND u.period <> ?""", [period]).df()
