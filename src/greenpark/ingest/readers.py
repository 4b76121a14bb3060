"""Readers: every input (CSV, Excel .xlsx, Parquet, an Arrow table) becomes the staging table
``_raw(line_no, <columns as text>, raw)`` of the import, with its column layout (meter readings
or station observations) recognised from the header and its aliases.

Files are bounded before they are parsed (:mod:`greenpark.ingest.limits`): size, number of
columns, line length, an Excel sheet's declared dimension and inflated size. Messages name the
file by ``source`` (the name the user gave), never by a server path.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import blake3
import duckdb
import pyarrow as pa

from greenpark.errors import InputError
from greenpark.ingest.limits import DEFAULT, ReadLimits
from greenpark.store import imports as store_imports

REQUIRED = ("meter_id", "timestamp", "value")
OPTIONAL = ("unit",)


class ReadError(InputError, ValueError):
    """Raised by readers; greenpark.ingest turns it into IngestError."""


def checksum_and_lines(path: Path, count_lines: bool = True) -> tuple[str, int | None]:
    """Checksum of the file's bytes and its number of lines (a last line without newline counts).

    The checksum is BLAKE3 (a cryptographic hash, about 3x faster than SHA-256 here, which matters
    beside a bulk import), written as ``blake3:<64 hex digits>``.
    """
    h = blake3.blake3()
    lines, last = 0, b"\n"
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 22), b""):
            h.update(chunk)
            if count_lines:
                lines += chunk.count(b"\n")
                last = chunk[-1:]
    return "blake3:" + h.hexdigest(), (lines + (last != b"\n")) if count_lines else None


def file_checksum(path: Path) -> str:
    return checksum_and_lines(path)[0]


def table_checksum(table: pa.Table) -> str:
    """BLAKE3 of a table's Arrow IPC stream (the checksum recorded for rows that arrive as a table)."""
    import pyarrow.ipc as ipc

    sink = pa.BufferOutputStream()
    with ipc.new_stream(sink, table.schema) as w:
        w.write_table(table)
    return "blake3:" + blake3.blake3(sink.getvalue()).hexdigest()


@dataclass(frozen=True)
class Layout:
    """The columns of one kind of input and the names they get in the staging table ``_raw``."""

    kind: str                      # meter | station
    required: tuple[str, ...]
    optional: tuple[str, ...]
    staged: dict[str, str]         # canonical column -> _raw column
    aliases: dict[str, str] = field(default_factory=dict)  # other header names -> canonical

    def columns(self, names: list[str]) -> list[str]:
        return [self.aliases.get(n, n) for n in names]


METER_LAYOUT = Layout("meter", REQUIRED, OPTIONAL,
                      {"meter_id": "meter_id", "timestamp": "ts_text", "value": "value_text", "unit": "unit"})
STATION_LAYOUT = Layout("station", ("station_id", "timestamp", "parameter", "value"), ("unit",),
                        {"station_id": "station_id", "timestamp": "ts_text", "parameter": "parameter",
                         "value": "value_text", "unit": "unit"},
                        aliases={"date": "timestamp", "section_id": "station_id", "pollutant": "parameter"})


def layout_for(names: list[str], source: str, limits: ReadLimits = DEFAULT) -> Layout:
    """Meter readings (meter_id, ...) or station observations (station_id, ...), from the header."""
    if len(names) > limits.max_columns:
        raise ReadError(f"{source}: {len(names):,} columns; a file has at most {limits.max_columns} "
                        "(meter_id, timestamp, value, unit or the station columns)")
    names = [n.strip().lower() for n in names]
    layout = STATION_LAYOUT if any(STATION_LAYOUT.aliases.get(n, n) == "station_id" for n in names) else METER_LAYOUT
    cols = layout.columns(names)
    missing = [c for c in layout.required if c not in cols]
    if missing:
        shown = ", ".join(n[:40] for n in names[:12]) + (" ..." if len(names) > 12 else "")
        raise ReadError(f"{source}: missing column(s) {', '.join(missing)}; the file needs columns "
                        f"{', '.join(layout.required)} (and optionally unit) for {layout.kind} data. "
                        f"Found: {shown or 'none'}")
    return layout


def csv_header(path: Path, source: str, limits: ReadLimits = DEFAULT) -> list[str]:
    """The header of a CSV file, read within the line-length bound; UTF-8 (with or without BOM)."""
    import csv

    with path.open("rb") as fh:
        head = fh.read(limits.max_line_bytes + 1)
    end = head.find(b"\n")
    if end < 0 and len(head) > limits.max_line_bytes:
        raise ReadError(f"{source}: the header line is longer than {limits.max_line_bytes:,} bytes")
    line = head if end < 0 else head[:end]
    try:
        text = line.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ReadError(f"{source}: not a UTF-8 CSV file (save it as CSV UTF-8)") from None
    try:
        return [c.strip().lower() for c in next(csv.reader([text.rstrip("\r")]), None) or []]
    except csv.Error as exc:
        raise ReadError(f"{source}: not a readable CSV header ({exc})") from None


def prescan(path: Path, source: str, limits: ReadLimits = DEFAULT) -> dict[int, int]:
    """One streamed pass over a CSV file before it is parsed: refuse it if it is not UTF-8, and
    find the lines with more fields than ``limits.max_fields_per_line`` (a parser spends time
    quadratic in the fields of a line that has too many). Returns {line number: fields} of those
    lines (fields counted as commas + 1, quoted commas included)."""
    import codecs

    import numpy as np

    dec = codecs.getincrementaldecoder("utf-8")()
    # a line of n fields has n - 1 commas, so only lines of at least that many bytes are counted
    least = limits.max_fields_per_line  # bytes of a line with max_fields_per_line + 1 fields, minus one
    line, wide = 1, {}
    tail_len = tail_commas = 0  # the line that continues into the next chunk
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 22), b""):
            try:
                if not chunk.isascii() or dec.getstate()[0]:  # ASCII is UTF-8 (and fast to check)
                    dec.decode(chunk)
            except UnicodeDecodeError as exc:
                bad = line + chunk[:exc.start].count(b"\n")
                raise ReadError(f"{source}: not UTF-8 text (line {bad}); save it as CSV UTF-8") from None
            nl = np.flatnonzero(np.frombuffer(chunk, np.uint8) == 10)
            starts = np.concatenate(([0], nl[:-1] + 1)) if len(nl) else np.empty(0, np.int64)
            lengths = nl - starts + (np.arange(len(nl)) == 0) * tail_len
            for i in np.flatnonzero(lengths >= least):
                commas = chunk.count(b",", int(starts[i]), int(nl[i])) + (tail_commas if i == 0 else 0)
                if commas + 1 > limits.max_fields_per_line:
                    wide[line + int(i)] = commas + 1
            rest = int(nl[-1]) + 1 if len(nl) else 0
            if len(nl):
                tail_len = tail_commas = 0
            line += len(nl)
            tail_len += len(chunk) - rest
            tail_commas += chunk.count(b",", rest) if tail_len >= least else 0
        if tail_commas + 1 > limits.max_fields_per_line:
            wide[line] = tail_commas + 1
        try:
            dec.decode(b"", final=True)
        except UnicodeDecodeError:
            raise ReadError(f"{source}: not UTF-8 text (the last line is cut inside a character)") from None
    return wide


def _without_wide_lines(path: Path, wide: dict[int, int], tmpdir: Path) -> Path:
    """A copy of ``path`` whose too-wide lines are replaced by one field (a malformed row the parser
    rejects at once), so that line numbers stay those of the original."""
    out = tmpdir / "narrow.csv"
    with path.open("rb") as src, out.open("wb") as dst:
        for no, text in enumerate(src, start=1):
            dst.write(b"x\n" if no in wide else text)
    return out


def read_csv(con, path: Path, source: str, limits: ReadLimits = DEFAULT, *,
             wide: dict[int, int] | None = None) -> Layout:
    """``wide``: the result of :func:`prescan` if the caller ran it already."""
    import tempfile

    header = csv_header(path, source, limits)
    layout = layout_for(header, source, limits)
    wide = prescan(path, source, limits) if wide is None else wide
    raw_of = {}
    if wide:
        with path.open("rb") as fh:
            for no, text in enumerate(fh, start=1):
                if no in wide:
                    raw_of[no] = text[:1000].decode("utf-8", "replace").rstrip("\r\n")
    # positional column names: the header is ours to interpret, not the sniffer's
    col = {name: f"c{i}" for i, name in enumerate(layout.columns(header))}
    with tempfile.TemporaryDirectory(prefix="greenpark-read-") as tmp:
        src = _without_wide_lines(path, wide, Path(tmp)) if wide else path
        try:
            store_imports.stage_csv(con, str(src), len(header), layout.staged, layout.required, layout.optional,
                                    col, limits.max_line_bytes)
        except duckdb.Error as exc:  # what the reader cannot set aside as a rejected line
            detail = str(exc).replace(str(src), source).replace(str(path), source).splitlines()[0][:300]
            raise ReadError(f"{source}: not a readable CSV file ({detail})") from None
    if wide:
        store_imports.annotate_malformed(con, pa.table({
            "line_no": pa.array(list(wide), pa.int64()), "raw": [raw_of.get(n, "") for n in wide],
            "detail": [f"{n:,} fields; a line has at most {limits.max_fields_per_line}" for n in wide.values()]}))
    return layout


def read_arrow(con, table: pa.Table, source: str, limits: ReadLimits = DEFAULT) -> Layout:
    if len(table) > limits.max_table_rows:
        raise ReadError(f"{source}: {len(table):,} rows; send at most {limits.max_table_rows:,} at a time")
    names = [c.strip().lower() for c in table.column_names]
    layout = layout_for(names, source, limits)
    cols = layout.columns(names)
    staged = pa.table({f"c{i}": _as_text(table.column(i)) for i in range(len(cols))})
    store_imports.stage_arrow(con, staged, layout.staged, layout.required, layout.optional,
                              {name: f"c{i}" for i, name in enumerate(cols)})
    return layout


def _as_text(col: pa.ChunkedArray) -> pa.ChunkedArray:
    """A column as text; booleans become 'true'/'false' (never 1/0: they are not a number)."""
    if pa.types.is_boolean(col.type):
        import pyarrow.compute as pc

        return pc.if_else(col, "true", "false")
    return col.cast(pa.string())


def read_parquet(con, path: Path, source: str, limits: ReadLimits = DEFAULT) -> Layout:
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    try:
        meta = pq.ParquetFile(path).metadata
    except Exception:
        raise ReadError(f"{source}: not a readable Parquet file") from None
    if meta.num_columns > limits.max_columns:
        raise ReadError(f"{source}: {meta.num_columns:,} columns; a file has at most {limits.max_columns}")
    try:
        table = pq.read_table(path)
    except Exception:
        raise ReadError(f"{source}: not a readable Parquet file") from None
    # timestamps with a time zone keep their instant; naive ones are park time (ISO text either way)
    cols = {}
    for name in table.column_names:
        c = table[name]
        if pa.types.is_timestamp(c.type):
            c = pc.strftime(c, format="%Y-%m-%dT%H:%M:%S%z" if c.type.tz else "%Y-%m-%dT%H:%M:%S")
        elif pa.types.is_date(c.type):
            c = pc.strftime(c, format="%Y-%m-%d")
        cols[name] = c
    return read_arrow(con, pa.table(cols), source, limits)


def _check_xlsx(path: Path, source: str, limits: ReadLimits) -> None:
    """Refuse an .xlsx whose parts would inflate beyond the bound (a zip bomb)."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as z:
            inflated = sum(i.file_size for i in z.infolist())
    except (zipfile.BadZipFile, OSError):
        raise ReadError(f"{source}: not a readable Excel .xlsx file") from None
    # zipfile stops each part at its declared size, so the declared sizes bound the real ones
    if inflated > limits.max_xlsx_inflated_bytes:
        raise ReadError(f"{source}: the workbook inflates to {inflated / 2**20:,.0f} MiB, more than "
                        f"{limits.max_xlsx_inflated_bytes >> 20:,} MiB; export the sheet as CSV")


def read_xlsx(con, path: Path, source: str, limits: ReadLimits = DEFAULT) -> Layout:
    import openpyxl

    _check_xlsx(path, source, limits)
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception:
        raise ReadError(f"{source}: not a readable Excel .xlsx file") from None
    try:
        ws = wb.worksheets[0]
        n_rows, n_cols = ws.max_row or 0, ws.max_column or 0   # the sheet's declared dimension
        if n_cols > limits.max_columns or n_rows * n_cols > limits.max_xlsx_cells:
            raise ReadError(f"{source}: the first sheet declares {n_rows:,} rows x {n_cols:,} columns; at most "
                            f"{limits.max_columns} columns and {limits.max_xlsx_cells:,} cells are read "
                            "(delete empty formatted cells or export the sheet as CSV)")
        width = limits.max_columns + 1
        rows = ws.iter_rows(values_only=True, max_col=width)
        header = next(rows, None)
        if header is None:
            raise ReadError(f"{source}: the first sheet is empty")
        names = [str(h).strip().lower() if h is not None else f"_blank{i}" for i, h in enumerate(header)]
        while names and names[-1].startswith("_blank"):
            names.pop()
        layout_for(names, source, limits)

        def text(v):
            if v is None:
                return None
            if isinstance(v, bool):
                return "true" if v else "false"
            return v.isoformat() if isinstance(v, dt.datetime | dt.date) else str(v)

        budget = limits.max_xlsx_cells
        data = []
        for r in rows:  # the sheet's cells, row by row (openpyxl has no columnar API)
            budget -= len(names)
            if budget < 0:
                raise ReadError(f"{source}: more than {limits.max_xlsx_cells:,} cells; export the sheet as CSV")
            data.append([text(v) for v in r[:len(names)]])
    finally:
        wb.close()
    columns = {n: pa.array([r[i] if i < len(r) else None for r in data], pa.string()) for i, n in enumerate(names)}
    return read_arrow(con, pa.table(columns), source, limits)


READERS = {".csv": read_csv, ".txt": read_csv, ".parquet": read_parquet, ".pq": read_parquet, ".xlsx": read_xlsx}
