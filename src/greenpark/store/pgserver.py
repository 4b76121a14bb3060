"""A throwaway PostgreSQL server on 127.0.0.1 for tests and benchmarks (Debian's postgresql package).

``with PgServer() as pg: dsn = pg.create_database("t1")`` runs ``initdb`` into a temporary
directory, starts the server on a free port with durability settings for throwaway data (no
fsync), and removes everything on exit. As root, the server runs as the ``postgres`` user
(PostgreSQL refuses to run as root).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

from greenpark.errors import StoreUnavailable


class PgServerError(StoreUnavailable, RuntimeError):
    pass


def pg_bindir() -> Path | None:
    """The newest PostgreSQL server binaries installed (``/usr/lib/postgresql/N/bin``), or None."""
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if dirs:
        return Path(dirs[-1]).parent
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgServer:
    def __init__(self, user: str = "greenpark"):
        self.bindir = pg_bindir()
        if self.bindir is None:
            raise PgServerError("PostgreSQL server binaries not found (Debian: apt-get install postgresql)")
        self.user = user
        self.port = _free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="greenpark-pg-"))
        self.data = self.dir / "data"
        self._as = []
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            shutil.chown(self.dir, "postgres", "postgres")
            self._as = ["runuser", "-u", "postgres", "--"]
        self._run([str(self.bindir / "initdb"), "-D", str(self.data), "-U", user, "--auth=trust",
                   "-E", "UTF8", "--no-locale", "--no-sync"])
        opts = (f"-h 127.0.0.1 -p {self.port} -c unix_socket_directories='' -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200 "
                "-c shared_buffers=256MB")
        self._run([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-o", opts, "-l",
                   str(self.dir / "server.log"), "-w", "-t", "60", "start"])
        self.url = f"postgresql://{user}@127.0.0.1:{self.port}"

    def _run(self, cmd: list[str]) -> None:
        r = subprocess.run(self._as + cmd, capture_output=True, text=True)
        if r.returncode != 0:
            log = self.dir / "server.log"
            raise PgServerError(f"{' '.join(cmd)} failed ({r.returncode}): {r.stderr.strip() or r.stdout.strip()}"
                                + (f"\n{log.read_text()[-2000:]}" if log.exists() else ""))

    def create_database(self, name: str) -> str:
        """A new empty database ``name``; its URL."""
        import psycopg

        with psycopg.connect(f"{self.url}/postgres", autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            c.execute(f'CREATE DATABASE "{name}"')
        return f"{self.url}/{name}"

    def stop(self) -> None:
        if self.data.exists():
            subprocess.run(self._as + [str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate",
                                       "-w", "stop"], capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> PgServer:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
