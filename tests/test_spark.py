"""Spark over a Parquet lake (issue 14): the store's SQL translated to Spark SQL gives the demo
park's energy, carbon and targets JSON identical to DuckDB's; ingest on Spark keeps the store's
quarantine and idempotency rules. One Spark session (local[2]) for the whole module."""

from __future__ import annotations

import datetime as dt
import json
import math

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

pytest.importorskip("pyspark")

from greenpark import park as park_mod  # noqa: E402
from greenpark.core import energy as core_energy  # noqa: E402
from greenpark.demo.region import generate_region  # noqa: E402
from greenpark.services import carbon_accounts as ca  # noqa: E402
from greenpark.services import energy  # noqa: E402
from greenpark.services import targets as ts  # noqa: E402
from greenpark.store import Store  # noqa: E402
from greenpark.store.spark import TranslationError, translate  # noqa: E402
from test_carbon_cli import NEW_FACTOR  # noqa: E402  (the newer provincial factor a restatement takes)


@pytest.fixture(scope="module")
def spark_session():
    from greenpark.store import spark

    s = spark.session("local[2]", {"spark.sql.shuffle.partitions": "2"})
    yield s
    spark.stop()


def _json(obj) -> str:
    return json.dumps(obj, sort_keys=True, default=str, ensure_ascii=False)


# -- translation ------------------------------------------------------------------------------------
def test_translation_rewrites_what_sqlglot_leaves():
    out = translate("SELECT make_timestamp(((epoch_us(r.ts) + 28800000000 - 1) // 3600000000) * 3600000000) AS h "
                    "FROM r SEMI JOIN t USING (k) GROUP BY ALL")
    assert "UNIX_MICROS(CAST(r.ts AS TIMESTAMP_LTZ))" in out
    assert "CAST(TIMESTAMP_MICROS(" in out and "AS TIMESTAMP_NTZ)" in out and " DIV " in out
    assert "LEFT SEMI JOIN t" in out and "GROUP BY ALL" in out


@pytest.mark.parametrize("sql", [
    "DELETE FROM rollup_hourly WHERE meter_id = 'a'",
    "INSERT INTO readings SELECT * FROM x",
    "CREATE OR REPLACE TEMP TABLE t AS SELECT 1",
    "SELECT timezone('Europe/Berlin', timezone('UTC', ts)) FROM readings",
    "SELECT * FROM read_csv('x.csv')",
])
def test_what_has_no_translation_raises(sql):
    with pytest.raises(TranslationError):
        translate(sql)


# -- the demo park on DuckDB and on Spark -----------------------------------------------------------
def test_demo_accounts_identical_on_duckdb_and_spark(demo_dir, tmp_path, spark_session):
    from greenpark.store.spark import SparkStore

    p = park_mod.load(demo_dir / "park.toml")
    duck = Store(str(demo_dir / "greenpark.duckdb"), p.park.timezone, read_only=True)
    sp = SparkStore(str(tmp_path / "lake"), p.park.timezone)
    counts = sp.lake.export_store(duck, ("rollup_monthly", "carbon_results", "carbon_certificate_uses"))
    assert counts["rollup_monthly"] > 1000 and counts["carbon_results"] >= 1
    sp.sync_park(p)
    per = core_energy.parse_period("2025")
    e_duck, e_spark = energy.compute(duck.con, p, per), energy.compute(sp.con, p, per)
    assert e_duck["park"]["tce"] > 0
    assert _json(e_duck) == _json(e_spark)
    c_duck = ca.to_json_dict(ca.carbon_report(duck, p, 2025, write=False))
    c_spark = ca.to_json_dict(ca.carbon_report(sp, p, 2025, write=False))
    assert c_duck["lineage"]["published"]["status"] == "pinned"
    assert _json(c_duck) == _json(c_spark)
    # the CLI: --engine spark and --db naming the lake (in-process: the module's Spark session)
    from typer.testing import CliRunner

    from greenpark.cli import app

    outs = [CliRunner().invoke(app, ["energy", "--period", "2025-Q2", "--park", str(demo_dir / "park.toml"),
                                     "--format", "json", *args]) for args in
            (["--db", str(demo_dir / "greenpark.duckdb")], ["--engine", "spark", "--db", str(tmp_path / "lake")])]
    assert outs[0].exit_code == 0 and outs[1].exit_code == 0, outs[1].output
    assert json.loads(outs[0].stdout) == json.loads(outs[1].stdout)
    t_duck = ts.targets_json(ts.targets_report(duck, p, 2025))
    t_spark = ts.targets_json(ts.targets_report(sp, p, 2025))
    assert t_duck["targets"]
    assert _json(t_duck) == _json(t_spark)
    duck.close()


# -- ingest on Spark --------------------------------------------------------------------------------
def _bad_rows(unit: str) -> pa.Table:
    """Rows every engine must quarantine, one reason each (and a repeated identical row, kept once),
    and rows in another unit (MWh into a kWh meter: converted, or refused when not convertible)."""
    t = [dt.datetime(2025, 1, 3, 10, 15)] * 6 + [dt.datetime(2025, 1, 3, 10, 45)] * 2 + [
        dt.datetime(2025, 1, 4, 10, 15), dt.datetime(1999, 12, 31, 10, 15), dt.datetime(2025, 1, 4, 10, 30),
        dt.datetime(2025, 1, 4, 10, 45)]
    return pa.table({
        "meter_id": [f"{unit}-XX", f"{unit}-M01", f"{unit}-M01", f"{unit}-M02", f"{unit}-M02", f"{unit}-M03",
                     f"{unit}-M03", f"{unit}-M03", f"{unit}-M01", f"{unit}-M01", f"{unit}-M01", f"{unit}-M01"],
        "timestamp": pa.array([t[0], None, t[1], t[2], t[3], t[4], t[6], t[7], *t[8:]], pa.timestamp("us")),
        "value": [1.0, 1.0, -2.0, 3.0, 4.0, math.nan, 5.0, 5.0, 5e9, 1.0, 0.25, 1.0],
        "unit": [None] * 10 + ["MWh", "m3"]})


def test_spark_ingest_matches_duckdb_and_reingest_changes_nothing(tmp_path, spark_session):
    from greenpark.ingest import ingest_batch, ingest_file, ingest_lake
    from greenpark.store.spark import SparkStore

    r = generate_region(tmp_path / "region", 1, meters=3, days=35, seed=7)
    p = park_mod.load(tmp_path / "region" / "units" / "U0001" / "park.toml")
    clean = pq.read_table(r.data / "U0001.parquet")
    # the bad rows replace clean rows of the same keys (as a real file would carry them)
    bad = _bad_rows("U0001")
    keys = {(m, t) for m, t in zip(bad["meter_id"].to_pylist(), bad["timestamp"].to_pylist(), strict=True)}
    mask = [(m, t) not in keys for m, t in zip(clean["meter_id"].to_pylist(), clean["timestamp"].to_pylist(), strict=True)]
    clean = clean.append_column("unit", pa.nulls(len(clean), pa.string()))
    batch = pa.concat_tables([clean.filter(pa.array(mask)), bad.cast(clean.schema)])
    pq.write_table(batch, tmp_path / "batch.parquet")

    duck = Store(":memory:", p.park.timezone)
    with duck.transaction():
        duck.sync_park(p)
    d = ingest_file(duck, tmp_path / "batch.parquet", park=p, now=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))

    sp = SparkStore(str(tmp_path / "lake"), p.park.timezone)
    sp.sync_park(p)
    s = ingest_lake(sp, p, str(tmp_path / "batch.parquet"), source="batch.parquet",
                    now=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    assert (s.accepted, s.rejected, s.rows_read) == (d.accepted, d.rejected, d.rows_read)
    assert s.rejected_by_reason == d.rejected_by_reason == {
        "duplicate_in_file": 3, "negative_consumption": 1, "timestamp_too_early": 1, "unit_not_convertible": 1,
        "unknown_meter": 1, "unparsable_timestamp": 1, "unparsable_value": 1, "value_out_of_range": 1}
    # the same validation SQL on both engines: the same details (duplicates aside: Parquet rows have no line numbers)
    q = "SELECT reason, detail FROM quarantine WHERE reason <> 'duplicate_in_file' ORDER BY ALL"
    assert sp.con.execute(q).fetchall() == duck.con.execute(q).fetchall()
    assert set(s.steps) >= {"checksum", "validate", "merge", "write readings", "rollups", "quarantine"}
    per = core_energy.parse_period("2025-01")
    e_duck, e_spark = energy.compute(duck.con, p, per), energy.compute(sp.con, p, per)
    assert e_duck["park"]["tce"] > 0
    assert _json(e_duck) == _json(e_spark)

    def snapshot():
        return [sp.con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall()
                for t in ("readings", "rollup_hourly", "rollup_daily", "rollup_monthly", "quarantine")]

    before = snapshot()
    again = ingest_lake(sp, p, str(tmp_path / "batch.parquet"), source="again.parquet")
    assert again.skipped and again.import_id == s.import_id
    forced = ingest_lake(sp, p, str(tmp_path / "batch.parquet"), source="batch.parquet", force=True,
                         now=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    assert forced.accepted == 0 and forced.corrected == 0 and forced.unchanged == s.accepted
    after = snapshot()
    assert after[:4] == before[:4]  # readings and rollups: nothing changed

    # a correction: the new value wins, the old one goes to the history, the rollups follow
    fix = pa.table({"meter_id": ["U0001-M01"], "timestamp": pa.array([dt.datetime(2025, 1, 10, 8, 0)], pa.timestamp("us")),
                    "value": [999.0]})
    c = ingest_lake(sp, p, sp.con.spark.createDataFrame(fix), source="fix")
    assert (c.corrected, c.accepted) == (1, 0)
    hist = sp.con.execute("SELECT meter_id, new_value FROM readings_history").fetchall()
    assert hist == [("U0001-M01", 999.0)]
    ingest_batch(duck, p, fix, source="fix")
    assert _json(energy.compute(duck.con, p, per)) == _json(energy.compute(sp.con, p, per))
    # a forced re-import of the first batch never overrides the later correction (as on DuckDB)
    f2 = ingest_lake(sp, p, str(tmp_path / "batch.parquet"), source="batch.parquet", force=True,
                     now=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    d2 = ingest_file(duck, tmp_path / "batch.parquet", park=p, force=True, now=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    assert (f2.kept, f2.corrected) == (d2.kept, d2.corrected) == (1, 0)
    assert _json(energy.compute(duck.con, p, per)) == _json(energy.compute(sp.con, p, per))

    # the CLI: greenpark ingest --engine spark (a batch already imported changes nothing)
    from typer.testing import CliRunner

    from greenpark.cli import app

    out = CliRunner().invoke(app, ["ingest", str(tmp_path / "batch.parquet"), "--engine", "spark", "--db", str(tmp_path / "lake"), "--park",
                                   str(tmp_path / "region" / "units" / "U0001" / "park.toml"), "--format", "json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)[0]["skipped"] is True


# -- a region of key energy-using units --------------------------------------------------------------
def test_region_report_flags_units_and_each_unit_opens_on_its_own(tmp_path, spark_session):
    from greenpark.services import region as region_mod
    from greenpark.store.spark import SparkStore

    r = generate_region(tmp_path / "rg", 12, meters=2, days=35, seed=3)
    reg = region_mod.load(r.region_toml)
    res = region_mod.ingest(reg, str(r.data))
    assert res["accepted"] == r.readings and res["rejected"] == 0
    assert region_mod.ingest(reg, str(r.data))["skipped"]
    out = region_mod.report(reg, 2025, daily_out=str(tmp_path / "daily"))
    units = {u["unit_id"]: u for u in out["units"]}
    assert len(units) == 12
    # the generator's planted failures, and only those: every 7th unit incomplete, every 11th a bad report
    assert {u for u, x in units.items() if x["months_incomplete"]} == {"U0007"}
    assert {u for u, x in units.items() if x["months_day_month_fail"]} == {"U0011"}
    codes = {f["code"]: f["ids"] for f in out["flags"]}
    assert codes["keyunit.incomplete"] == ["U0007:2025-01"] and codes["keyunit.day_month_mismatch"] == ["U0011:2025-01"]
    assert out["months"][0]["month"] == "2025-01-01T00:00"  # time label: start of the period
    assert out["lineage"]["limits"]["completeness_min"]["value"] == 0.9
    assert all(x["co2_location_t"] > 0 for x in units.values())
    assert len(pq.read_table(tmp_path / "daily")) == 12 * 35  # one carrier (electricity), 35 days
    # unit-product energy of the synthetic quota-covered product: January is the complete month
    prods = {x["unit_id"]: x for x in out["products"]}
    assert len(prods) == 12 and all(x["months"] == 1 for x in prods.values())
    jan = {x["unit_id"]: x for x in out["months"] if x["month"] == "2025-01-01T00:00"}
    for uid, x in prods.items():
        output = reg.parks[uid].products[0].monthly_output[0]
        assert x["output"] == output and "synthetic demo value" in x["standard"] and "synthetic" in x["quota_source"]
        assert x["energy_kgce"] == pytest.approx(jan[uid]["energy_tce"] * 1000, abs=1e-3)  # tce rounded to 6 digits
        assert x["kgce_per_unit"] == pytest.approx(x["energy_kgce"] / output, abs=1e-6)
    grades = {g: sorted(u for u, x in prods.items() if x["grade"] == g) for g in ("grade1", "grade2", "above_grade2")}
    # planted: every 5th unit above grade 2, every 3rd grade 1; U0007 misses 15 % of January (looks better)
    assert grades["above_grade2"] == ["U0005", "U0010"]
    assert grades["grade1"] == ["U0003", "U0006", "U0007", "U0009", "U0012"]
    assert codes["keyunit.product_above_grade2"] == ["U0005:U0005-P1", "U0010:U0010-P1"]
    assert codes["keyunit.product_energy_incomplete"] == ["U0007:U0007-P1"] and prods["U0007"]["months_incomplete"] == 1
    feb = [x for x in out["product_months"] if x["month"] == "2025-02-01T00:00"]
    assert len(feb) == 12 and all(x["kgce_per_unit"] is None and x["output"] > 0 for x in feb)
    # the CLI's CSV rows (one per unit and product) and table
    from greenpark.cli.region import _csv_rows, _products_table

    rows = _csv_rows(out)
    assert len(rows) == 12 and rows[4]["product_id"] == "U0005-P1" and rows[4]["product_grade"] == "above_grade2"
    assert rows[4]["product_kgce_per_unit"] == prods["U0005"]["kgce_per_unit"]
    assert _products_table(out["products"]).row_count == 12
    # one unit opened on its own (its park.toml: engine spark, the region's lake) gives the same energy
    p = reg.parks["U0005"]
    sp = SparkStore(p.lake_path, p.park.timezone)
    sp.sync_park(p)
    e = energy.compute(sp.con, p, core_energy.parse_period("2025"))
    assert round(e["park"]["tce"], 6) == round(units["U0005"]["energy_tce"], 6)


# -- publishing carbon results on the lake ----------------------------------------------------------
def _unstamped(obj):
    """The carbon JSON without publication timestamps (the only field two stores cannot share)."""
    if isinstance(obj, dict):
        return {k: _unstamped(v) for k, v in obj.items() if k != "published_at"}
    if isinstance(obj, list):
        return [_unstamped(v) for v in obj]
    return obj


@pytest.mark.slow  # 20-50 s on 2 cores: seven carbon runs, four of them on Spark
def test_carbon_publish_and_restate_on_the_lake_as_on_duckdb(demo_dir, tmp_path, spark_session):
    import shutil

    from typer.testing import CliRunner

    from greenpark.cli import app
    from greenpark.store.spark import SparkStore

    p = park_mod.load(demo_dir / "park.toml")
    # the demo's readings with nothing published, in a DuckDB file and in a lake
    shutil.copy(demo_dir / "greenpark.duckdb", tmp_path / "duck.duckdb")
    with Store(str(tmp_path / "duck.duckdb"), p.park.timezone) as duck:
        assert duck.con.execute("SELECT count(*) FROM carbon_results").fetchone()[0] >= 1
        with duck.transaction():
            duck.con.execute("DELETE FROM carbon_certificate_uses")
            duck.con.execute("DELETE FROM carbon_results")
        SparkStore(str(tmp_path / "lake"), p.park.timezone).lake.export_store(duck, ("rollup_monthly",))
    # a park.toml with a newer provincial factor (for --restate)
    newer = tmp_path / "newer" / "park.toml"
    newer.parent.mkdir()
    newer.write_text((demo_dir / "park.toml").read_text(encoding="utf-8") + NEW_FACTOR, encoding="utf-8")

    def carbon(db: list[str], *args: str, park=demo_dir / "park.toml", fmt: str = "json"):
        out = CliRunner().invoke(app, ["carbon", "--period", "2025", "--park", str(park), "--format", fmt, *db, *args])
        assert out.exit_code == 0, out.output
        return json.loads(out.stdout) if fmt == "json" else out.stdout

    dbs = {"duckdb": ["--db", str(tmp_path / "duck.duckdb")], "spark": ["--engine", "spark", "--db", str(tmp_path / "lake")]}
    runs = {}
    for name, db in dbs.items():
        first = carbon(db, "--publish")
        assert first["lineage"]["published"]["status"] == "published_now"
        again = carbon(db, "--publish", fmt="table")  # already published: says so, publishes nothing new
        assert "2025 is published: factors of published result #1" in again
        restated = carbon(db, "--restate", park=newer)
        assert restated["lineage"]["published"]["status"] == "restated"
        assert restated["lineage"]["published"]["restates"] == 1 and restated["lineage"]["published"]["result_id"] == 2
        after = carbon(db, park=newer)  # read after publish: the restatement is the published result
        assert after["lineage"]["published"]["status"] == "pinned" and after["lineage"]["published"]["result_id"] == 2
        runs[name] = [first, restated, after]
    assert runs["spark"][0]["certificates"]["by_enterprise"]  # the demo applies certificates: uses are written
    for d, s in zip(runs["duckdb"], runs["spark"], strict=True):
        assert _json(_unstamped(d)) == _json(_unstamped(s))
    # the stored rows: the first result superseded by the restatement, the same certificate uses
    with Store(str(tmp_path / "duck.duckdb"), p.park.timezone, read_only=True) as duck:
        sp = SparkStore(str(tmp_path / "lake"), p.park.timezone)
        for sql in ("SELECT result_id, period, level, region, superseded_by, restates, figures FROM carbon_results "
                    "ORDER BY result_id",
                    "SELECT * FROM carbon_certificate_uses ORDER BY result_id, certificate_id"):
            rows = duck.con.execute(sql).fetchall()
            assert rows and sp.con.execute(sql).fetchall() == rows
        assert [r[:2] for r in duck.con.execute("SELECT result_id, superseded_by FROM carbon_results ORDER BY 1")
                .fetchall()] == [(1, 2), (2, None)]
