"""A consistent copy of a DuckDB store for readers in other processes (issue 15 item 8).

DuckDB lets one process open a database file for writing and then no other process may open
it, not even to read. While ``greenpark serve`` holds the file, the CLI's read commands ask the
server for a snapshot: the server copies its database into a new DuckDB file with DuckDB's own
``COPY FROM DATABASE`` (one transaction: a consistent state; run on its writer thread, so no
write is half done), and the CLI opens the copy read-only and runs its usual code on it.

The server must never open its own database file otherwise: POSIX releases a process's lock on
a file when the process closes *any* descriptor of that file, so a plain file copy inside the
server would let a second writer in.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from pathlib import Path

#: how the server names its snapshot folders (beside the database; mode 0700)
PREFIX = ".greenpark-snapshot-"


def copy_duckdb(con, db_path: str) -> Path:
    """Copy the DuckDB store of ``con`` (its connection) into ``snapshot.duckdb`` in a new
    private folder beside ``db_path``; returns the copy's path (the reader deletes it with
    :func:`remove`)."""
    parent = Path(db_path).resolve().parent
    _remove_stale(parent)
    folder = Path(tempfile.mkdtemp(prefix=PREFIX, dir=parent))
    dest = folder / "snapshot.duckdb"
    main = con.execute("SELECT current_database()").fetchall()[0][0]
    quoted = str(dest).replace("'", "''")
    con.execute(f"ATTACH '{quoted}' AS _gp_snapshot")
    try:
        con.execute(f'COPY FROM DATABASE "{main}" TO _gp_snapshot')
    finally:
        con.execute("DETACH _gp_snapshot")
    return dest


#: a snapshot folder older than this was left by a reader that stopped half way [s]
STALE_AFTER = 3600.0


def _remove_stale(parent: Path) -> None:
    """Delete snapshot folders beside the database that a reader left (killed before deleting)."""
    now = time.time()
    for folder in parent.glob(PREFIX + "*"):
        with contextlib.suppress(OSError):
            if folder.is_dir() and now - folder.stat().st_mtime > STALE_AFTER:
                for f in folder.iterdir():
                    f.unlink()
                folder.rmdir()


def remove(path: str | Path) -> None:
    """Delete a snapshot, its write-ahead log and its folder (no error when already gone)."""
    path = Path(path)
    for p in (path, Path(str(path) + ".wal")):
        with contextlib.suppress(OSError):
            p.unlink()
    if path.parent.name.startswith(PREFIX):
        with contextlib.suppress(OSError):
            path.parent.rmdir()
