"""`greenpark --help`, every subcommand's --help and argument errors answer without loading the
heavy libraries (issue 10: the CLI took about 1 s to start because every command imported
pandas, pint and more at start). Each case runs in a fresh interpreter."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src"
HEAVY = ("pandas", "numpy", "pint", "duckdb", "pyarrow", "fastapi", "starlette", "uvicorn", "matplotlib", "scipy",
         "sqlglot", "psycopg", "openpyxl", "argon2", "blake3")

PROBE = """
import json, runpy, sys
HEAVY = set(json.loads(sys.argv[2]))
sys.argv = ["greenpark", *json.loads(sys.argv[1])]
code = 0
try:
    runpy.run_module("greenpark.cli", run_name="__main__")
except SystemExit as exc:
    code = exc.code if isinstance(exc.code, int) else 1
print(json.dumps({"code": code, "modules": sorted(m for m in sys.modules if m.split(".")[0] in HEAVY)}))
"""


def _probe(*args: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(SRC) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    p = subprocess.run([sys.executable, "-c", PROBE, json.dumps(list(args)), json.dumps(HEAVY)], capture_output=True, text=True,
                       env=env, timeout=120)
    return json.loads(p.stdout.strip().splitlines()[-1])


def _commands() -> list[tuple[str, ...]]:
    """Every command and sub-command path of the Typer application."""
    import typer.main

    from greenpark.cli import app

    out: list[tuple[str, ...]] = []

    def walk(group, prefix):
        for name, cmd in getattr(group, "commands", {}).items():
            out.append((*prefix, name))
            walk(cmd, (*prefix, name))

    walk(typer.main.get_command(app), ())
    return out


COMMANDS = _commands()


def test_every_command_is_probed():
    names = {c[0] for c in COMMANDS}
    assert {"energy", "carbon", "targets", "air", "water", "aqi", "ingest", "demo", "serve", "mv", "user"} <= names


@pytest.mark.parametrize("args", [("--help",), ("energy", "--period"), ("energy",), ("nope",),
                                  ("carbon", "--period", "2025", "--method", "nope"), ("mv", "savings")],
                         ids=lambda a: " ".join(a))
def test_help_and_argument_errors_load_no_heavy_module(args):
    r = _probe(*args)
    assert r["modules"] == [], f"greenpark {' '.join(args)} loaded {r['modules']}"
    assert r["code"] == (0 if args == ("--help",) else 2)


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c))
def test_every_subcommand_help_loads_no_heavy_module(command):
    r = _probe(*command, "--help")
    assert r["code"] == 0
    assert r["modules"] == [], f"greenpark {' '.join(command)} --help loaded {r['modules']}"


def test_cli_breakdowns_match_the_service():
    """cli.energy declares the --by choices itself (to start without pandas): they must be the service's."""
    from greenpark.cli.energy import By as CliBy
    from greenpark.core.energy import By

    assert [b.value for b in CliBy] == [b.value for b in By]


def _commands(cmd, path=()):
    yield path, cmd
    if hasattr(cmd, "commands"):
        for name, sub in cmd.commands.items():
            yield from _commands(sub, (*path, name))


def test_every_help_text_is_printed_as_written():
    """Help texts are plain text: park.toml's [[sources]], [collect] or a unit [h] in an option's help
    reach the reader (rich markup once swallowed them as style tags)."""
    import typer
    from typer.testing import CliRunner

    from greenpark.cli import app

    root = typer.main.get_command(app)
    runner = CliRunner()
    checked = 0
    for path, cmd in _commands(root):
        texts = [p.help for p in cmd.params if getattr(p, "help", None) and "[" in p.help]
        if not texts:
            continue
        out = " ".join(runner.invoke(app, [*path, "--help"], terminal_width=200).output.split())
        for t in texts:
            assert " ".join(t.split()) in out, (path, t)
            checked += 1
    assert checked >= 5
