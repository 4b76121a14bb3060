"""Issue 16 #3 (query path): a period at the edge of the calendar is refused with a clear 4xx or
exit status 2, never an overflow (year 9999's period ends in year 10000, year 0000 has no date)."""

from __future__ import annotations

import pytest

from greenpark.core.energy import PERIOD_YEARS, PeriodError, parse_period

from conftest import run

EXTREME = ["9999", "0000", "9999-Q4", "9999Q4", "9999-12", "0000-01", "1899", "2201-03"]


@pytest.mark.parametrize("text", EXTREME)
def test_parse_period_refuses_years_outside_the_range(text):
    with pytest.raises(PeriodError, match="between|not a year"):
        parse_period(text)


def test_parse_period_accepts_the_range_edges():
    lo, hi = PERIOD_YEARS
    assert parse_period(str(lo)).start.year == lo
    assert parse_period(f"{hi}-Q4").end.year == hi + 1
    assert parse_period(f"{hi}-12").label == f"{hi}-12"


@pytest.mark.parametrize("args", [["energy", "--period", "9999"], ["energy", "--period", "0000-01"],
                                  ["carbon", "--period", "9999"], ["targets", "--year", "9999"],
                                  ["air", "--period", "9999"], ["water", "--period", "9999-12"]])
def test_cli_extreme_periods_exit_2_with_a_message(demo_dir, args):
    p = run(*args, cwd=demo_dir, check=False)
    assert p.returncode == 2, (p.returncode, p.stdout, p.stderr)
    assert "Traceback" not in p.stderr and "between" in (p.stdout + p.stderr)
