from __future__ import annotations

import datetime as dt
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from greenpark import park as park_mod
from greenpark.store import Store

SMALL_PARK = """
[park]
id = "tp"
name_zh = "测试园区"
name_en = "Test park"

[accounting]
equal_value_coal_rate_gce_per_kwh = 300.0
equal_value_coal_rate_source = "test value"

[[enterprises]]
id = "E1"
name_zh = "甲厂"
name_en = "Plant A"
industry = "die_casting"
economics = [{ year = 2025, output_value_10k_cny = 1000.0, value_added_10k_cny = 250.0 }]

[[enterprises]]
id = "E2"
name_zh = "乙厂"
name_en = "Plant B"
industry = "electronics"

[[meters]]
id = "E1-EL"
owner = "E1"
carrier = "electricity"
unit = "kWh"

[[meters]]
id = "E1-EL-AIR"
owner = "E1"
carrier = "electricity"
unit = "kWh"
parent = "E1-EL"
end_use = "compressed air"

[[meters]]
id = "E1-PV"
owner = "E1"
carrier = "electricity"
unit = "kWh"
renewable_generation = true

[[meters]]
id = "E1-EXP"
owner = "E1"
carrier = "electricity"
unit = "kWh"
export = true

[[meters]]
id = "E1-NG"
owner = "E1"
carrier = "natural_gas"
unit = "m3"
interval_minutes = 60

[[meters]]
id = "E1-ST"
owner = "E1"
carrier = "steam"
unit = "t"
interval_minutes = 60

[[meters]]
id = "E1-DSL"
owner = "E1"
carrier = "diesel"
unit = "kg"
interval_minutes = 1440
interval_label = "start"

[[meters]]
id = "E1-WA"
owner = "E1"
carrier = "water"
unit = "t"
interval_minutes = 60

[[meters]]
id = "E2-EL"
owner = "E2"
carrier = "electricity"
unit = "kWh"
kind = "cumulative"
multiplier = 2.0
register_rollover = 1000
events = [{ kind = "replacement", at = 2025-01-01T03:00:00, old_final = 12, new_initial = 5 }]

[[products]]
id = "E1-P"
enterprise = "E1"
name_zh = "铸件"
name_en = "castings"
unit = "t"
year = 2025
monthly_output = [10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10]
"""

NOW = dt.datetime(2026, 1, 15, tzinfo=dt.UTC)


@pytest.fixture
def park_dir(tmp_path: Path) -> Path:
    (tmp_path / "park.toml").write_text(textwrap.dedent(SMALL_PARK), encoding="utf-8")
    return tmp_path


@pytest.fixture
def park(park_dir: Path) -> park_mod.Park:
    return park_mod.load(park_dir / "park.toml")


@pytest.fixture(params=["duckdb", "postgresql"])
def store(request, park) -> Store:
    """The small park's store, in memory (DuckDB) and in a new PostgreSQL database: the store tests
    run on both engines."""
    s = Store(":memory:" if request.param == "duckdb" else request.getfixturevalue("pg_url"), park.park.timezone)
    with s.transaction():
        s.sync_park(park)
    yield s
    s.close()


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path

STATIONS = """
[[stations]]
id = "AQ1"
name_zh = "空气站1"
name_en = "Air 1"
kind = "air"

[[stations]]
id = "WX1"
name_zh = "气象站"
name_en = "Weather"
kind = "weather"

[[stations]]
id = "W1"
name_zh = "河流断面"
name_en = "River section"
kind = "water"
water_body = "river"
"""


@pytest.fixture
def env_park(tmp_path: Path) -> park_mod.Park:
    (tmp_path / "park.toml").write_text(textwrap.dedent(SMALL_PARK) + textwrap.dedent(STATIONS), encoding="utf-8")
    return park_mod.load(tmp_path / "park.toml")


@pytest.fixture(params=["duckdb", "postgresql"])
def env_store(request, env_park) -> Store:
    s = Store(":memory:" if request.param == "duckdb" else request.getfixturevalue("pg_url"), env_park.park.timezone)
    with s.transaction():
        s.sync_park(env_park)
    yield s
    s.close()


GP = [sys.executable, "-m", "greenpark.cli"]


def run(*args, cwd=None, check=True):
    """Run the greenpark CLI as a user would (a subprocess); AssertionError with its output on failure."""
    p = subprocess.run([*GP, *args], cwd=cwd, capture_output=True, text=True, timeout=900)
    if check and p.returncode != 0:
        raise AssertionError(f"greenpark {' '.join(args)} -> {p.returncode}\n{p.stdout}\n{p.stderr}")
    return p


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory) -> tuple[Path, str]:
    """The demo park, generated and imported once per test session (tests must not modify it)."""
    d = tmp_path_factory.mktemp("demo") / "park"
    out = run("demo", str(d)).stdout
    return d, out


@pytest.fixture(scope="session")
def demo_dir(demo_run) -> Path:
    return demo_run[0]


@pytest.fixture(scope="session")
def demo_output(demo_run) -> str:
    return demo_run[1]


# -- PostgreSQL (issue 6: the same store and API tests on a real server) ----------------------------
@pytest.fixture(scope="session")
def pg_server():
    """A throwaway PostgreSQL server on 127.0.0.1 for the whole test session (Debian's postgresql)."""
    from greenpark.store.pgserver import PgServer, PgServerError, pg_bindir

    if pg_bindir() is None:
        pytest.fail("PostgreSQL server binaries not found: `make test` installs Debian's postgresql package")
    try:
        server = PgServer()
    except PgServerError as exc:
        pytest.fail(str(exc))
    yield server
    server.stop()


_db_counter = iter(range(1, 1_000_000))


@pytest.fixture
def pg_url(pg_server) -> str:
    """A new empty PostgreSQL database for one test."""
    return pg_server.create_database(f"t{next(_db_counter)}")


ENGINES = ["duckdb", "postgresql"]


def store_url(engine: str, tmp_dir: Path, request) -> str:
    """Where a test's store lives on ``engine``: a DuckDB file in ``tmp_dir`` or a new PostgreSQL database."""
    if engine == "duckdb":
        return str(tmp_dir / "greenpark.duckdb")
    return request.getfixturevalue("pg_server").create_database(f"t{next(_db_counter)}")
