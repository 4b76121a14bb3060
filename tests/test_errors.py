"""One error root: every exception class greenpark defines derives from GreenparkError, and the CLI
and the API report each with the class's own exit status / HTTP status (mapped in one place each)."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest
import typer
from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner

import greenpark
from greenpark import errors
from greenpark.api import errors as api_errors
from greenpark.cli.common import friendly_errors

from conftest import run

SRC = Path(greenpark.__file__).parent


def _modules() -> list[str]:
    names = []
    for info in pkgutil.walk_packages([str(SRC)], prefix="greenpark."):
        if info.name.endswith("__main__"):
            continue
        names.append(info.name)
    return names


def _exception_classes() -> list[type[BaseException]]:
    found = {}
    for name in _modules():
        mod = importlib.import_module(name)
        for _, obj in inspect.getmembers(mod, inspect.isclass):
            if issubclass(obj, BaseException) and obj.__module__ == name:
                found[f"{name}.{obj.__qualname__}"] = obj
    return [found[k] for k in sorted(found)]


CLASSES = _exception_classes()


def test_scan_finds_the_known_classes():
    names = {c.__name__ for c in CLASSES}
    # a sample of the classes that exist today: the scan must see them (not an empty pass)
    assert {"ParkError", "PeriodError", "StoreError", "UnitError", "CarbonError", "MVError", "IngestError",
            "ApiError", "UserError", "ReferenceError", "EvaluationError", "WaterInputError"} <= names
    assert len(CLASSES) >= 25


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: f"{c.__module__}.{c.__qualname__}")
def test_every_exception_class_derives_from_greenpark_error(cls):
    assert issubclass(cls, errors.GreenparkError), f"{cls.__module__}.{cls.__qualname__} is not a GreenparkError"
    assert cls.exit_status in (1, 2) and 400 <= cls.http_status <= 599


def test_no_exception_class_outside_the_scan():
    """Every `class X(...Error/Exception)` statement in the source belongs to an importable module the
    scan above covers (a class defined inside a function would escape it)."""
    top = {c.__qualname__ for c in CLASSES}
    for path in SRC.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                bases = [ast.unparse(b) for b in node.bases]
                if any(b.endswith(("Error", "Exception", "Unavailable")) for b in bases):
                    assert node.name in top, f"{path}: class {node.name} not seen by the scan"


def test_duplicate_account_errors_are_distinct_meanings():
    from greenpark.services import carbon_accounts, users

    assert carbon_accounts.AccountsError is carbon_accounts.CarbonAccountsError
    assert carbon_accounts.CarbonAccountsError is not users.AccountError


def test_builtin_bases_kept_for_callers():
    from greenpark import park, reference
    from greenpark.core import units
    from greenpark.services import energy
    from greenpark.store import StoreError

    assert issubclass(park.ParkError, ValueError) and issubclass(energy.PeriodError, ValueError)
    assert issubclass(units.UnitError, ValueError) and issubclass(reference.ReferenceError, LookupError)
    assert issubclass(StoreError, RuntimeError)


def _instance(cls: type[BaseException]) -> BaseException:
    if cls is api_errors.ApiError:
        return cls(409, "a conflict the user can resolve")
    exc = cls.__new__(cls)
    Exception.__init__(exc, f"a {cls.__name__} for the test")
    return exc


def _statuses():
    out = []
    for cls in CLASSES:
        exc = _instance(cls)
        out.append(pytest.param(exc, id=f"{cls.__module__}.{cls.__qualname__}"))
    return out


@pytest.mark.parametrize("exc", _statuses())
def test_cli_exits_with_the_class_status(exc):
    app = typer.Typer()

    @app.command()
    @friendly_errors
    def boom() -> None:
        raise exc

    res = CliRunner().invoke(app, [])
    assert res.exit_code == exc.exit_status, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)
    assert str(exc) in res.output.replace("\n", "")


@pytest.mark.parametrize("exc", _statuses())
def test_api_answers_with_the_class_status(exc):
    app = FastAPI()
    api_errors.install(app)

    @app.get("/boom")
    def boom():
        raise exc

    res = TestClient(app, raise_server_exceptions=False).get("/boom")
    assert res.status_code == exc.http_status
    err = res.json()["error"]
    assert err["status"] == exc.http_status
    if exc.http_status < 500 or exc.http_status == 503:  # unavailable store or device: says what is down
        assert err["code"] == exc.code and err["message"] == str(exc)
    else:  # internal: no message leaks, a reference to the server log
        assert err["code"] == "internal_error" and "reference" in err["message"]


def test_statuses_per_family():
    assert (errors.InputError.exit_status, errors.InputError.http_status) == (2, 400)
    assert errors.NotFoundError.http_status == 404 and errors.ConflictError.http_status == 409
    assert errors.ForbiddenError.http_status == 403 and errors.DataError.http_status == 422
    assert (errors.StoreUnavailable.exit_status, errors.StoreUnavailable.http_status) == (1, 503)
    assert errors.status_code(KeyError("x")) == (1, 500)


def test_real_cli_store_unavailable_and_bad_period(tmp_path):
    """Through the installed CLI: a bad period exits 2 with one line; no traceback."""
    (tmp_path / "park.toml").write_text(
        '[park]\nid = "P"\nname_zh = "园"\nname_en = "P"\ntimezone = "Asia/Shanghai"\nprovince = "jiangsu"\n',
        encoding="utf-8")
    p = run("energy", "--period", "20x5", cwd=tmp_path, check=False)
    assert p.returncode == 2, p.stderr
    assert "Traceback" not in p.stderr and "error:" in p.stderr


def test_unknown_ids_of_park_toml_are_404_in_the_api_and_exit_2_in_the_cli(tmp_path):
    """/mv/NOPE, /air?station=NOPE: an id park.toml does not define is 'not found', not a bad request."""
    from api_support import assert_error, build_api_park
    from greenpark import park as park_mod
    from greenpark.api import create_app

    assert issubclass(park_mod.ParkIdError, errors.NotFoundError) and issubclass(park_mod.ParkIdError, park_mod.ParkError)
    ap = build_api_park(tmp_path / "park", db=str(tmp_path / "park" / "gp.duckdb"))
    with TestClient(create_app(ap.park, ap.db, dashboard=False)) as client:
        r = client.get("/api/v1/mv/NOPE", headers=ap.headers("admin"))
        assert_error(r, 404, code="not_found", contains="no M&V project 'NOPE'")
    p = run("mv", "savings", "NOPE", cwd=tmp_path / "park", check=False)
    assert p.returncode == 2 and "no M&V project 'NOPE'" in p.stderr
