"""Readers: every input (CSV in any encoding, Excel .xlsx and .xls, HTML tables saved as .xls,
Parquet, an Arrow table) becomes the staging table
``_raw(line_no, <columns as text>, raw)`` of the import, with its column layout (meter readings
or station observations) recognised from the header and its aliases.

Files are bounded before they are parsed (:mod:`greenpark.ingest.limits`): size, number of
columns, line length, an Excel sheet's declared dimension and inflated size. Messages name the
file by ``source`` (the name the user gave), never by a server path.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import blake3
import duckdb
import pyarrow as pa

from greenpark.errors import InputError
from greenpark.ingest import profiles
from greenpark.ingest.limits import DEFAULT, ReadLimits
from greenpark.ingest.profiles import ReadOptions
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


def layout_for(names: list[str], source: str, limits: ReadLimits = DEFAULT,
               opts: ReadOptions = profiles.DEFAULT) -> Layout:
    """Meter readings (meter_id, ...) or station observations (station_id, ...), from the header
    (its words read through the profile's column map and the built-in header aliases)."""
    if len(names) > limits.max_columns:
        raise ReadError(f"{source}: {len(names):,} columns; a file has at most {limits.max_columns} "
                        "(meter_id, timestamp, value, unit or the station columns)")
    names = [n.strip().lower() for n in names]
    layout = STATION_LAYOUT if any(STATION_LAYOUT.aliases.get(n, n) == "station_id" for n in names) else METER_LAYOUT
    if layout is METER_LAYOUT:
        extra = {n: c for n, c in zip(names, profiles.map_headers(names, opts), strict=True) if n != c}
        if extra:
            layout = Layout(METER_LAYOUT.kind, METER_LAYOUT.required, METER_LAYOUT.optional, METER_LAYOUT.staged,
                            {**METER_LAYOUT.aliases, **extra})
    cols = layout.columns(names)
    missing = [c for c in layout.required if c not in cols]
    if missing:
        shown = ", ".join(n[:40] for n in names[:12]) + (" ..." if len(names) > 12 else "")
        raise ReadError.t("import.missing_columns", source=source, missing=", ".join(missing),
                          kind=layout.kind, required=", ".join(layout.required), found=shown or "-")
    return layout


def csv_header(path: Path, source: str, limits: ReadLimits = DEFAULT, delimiter: str = ",") -> list[str]:
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
        raise ReadError.t("import.bad_encoding", source=source, line=1, encoding="utf-8") from None
    try:
        return [c.strip().lower() for c in next(csv.reader([text.rstrip("\r")], delimiter=delimiter), None) or []]
    except csv.Error as exc:
        raise ReadError(f"{source}: not a readable CSV header ({exc})") from None


def prescan(path: Path, source: str, limits: ReadLimits = DEFAULT, delimiter: str = ",") -> dict[int, int]:
    """One streamed pass over a CSV file before it is parsed: refuse it if it is not UTF-8, and
    find the lines with more fields than ``limits.max_fields_per_line`` (a parser spends time
    quadratic in the fields of a line that has too many). Returns {line number: fields} of those
    lines (fields counted as commas + 1, quoted commas included)."""
    import codecs

    import numpy as np

    dec = codecs.getincrementaldecoder("utf-8")()
    sep = delimiter.encode()
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
                raise ReadError.t("import.bad_encoding", source=source, line=bad, encoding="utf-8") from None
            nl = np.flatnonzero(np.frombuffer(chunk, np.uint8) == 10)
            starts = np.concatenate(([0], nl[:-1] + 1)) if len(nl) else np.empty(0, np.int64)
            lengths = nl - starts + (np.arange(len(nl)) == 0) * tail_len
            for i in np.flatnonzero(lengths >= least):
                commas = chunk.count(sep, int(starts[i]), int(nl[i])) + (tail_commas if i == 0 else 0)
                if commas + 1 > limits.max_fields_per_line:
                    wide[line + int(i)] = commas + 1
            rest = int(nl[-1]) + 1 if len(nl) else 0
            if len(nl):
                tail_len = tail_commas = 0
            line += len(nl)
            tail_len += len(chunk) - rest
            tail_commas += chunk.count(sep, rest) if tail_len >= least else 0
        if tail_commas + 1 > limits.max_fields_per_line:
            wide[line] = tail_commas + 1
        try:
            dec.decode(b"", final=True)
        except UnicodeDecodeError:
            raise ReadError.t("import.bad_encoding", source=source, line=line, encoding="utf-8") from None
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
             wide: dict[int, int] | None = None, opts: ReadOptions = profiles.DEFAULT) -> Layout:
    """A UTF-8 CSV file (a file in another encoding, or with title lines, is transcoded first by
    :func:`greenpark.ingest.utf8_source`). ``wide``: the result of :func:`prescan` if the caller ran
    it already. ``opts.layout == "wide"``: a time column and one column per meter (:func:`read_csv_wide`)."""
    import tempfile

    if opts.layout == "wide":
        return read_csv_wide(con, path, source, limits, opts=opts)
    header = csv_header(path, source, limits, opts.delimiter)
    layout = layout_for(header, source, limits, opts)
    wide = prescan(path, source, limits, opts.delimiter) if wide is None else wide
    raw_of = {}
    if wide:
        with path.open("rb") as fh:
            for no, text in enumerate(fh, start=1):
                if no in wide:
                    raw_of[no + opts.line_offset] = text[:1000].decode("utf-8", "replace").rstrip("\r\n")
    # positional column names: the header is ours to interpret, not the sniffer's
    col = {name: f"c{i}" for i, name in enumerate(layout.columns(header))}
    with tempfile.TemporaryDirectory(prefix="greenpark-read-") as tmp:
        src = _without_wide_lines(path, wide, Path(tmp)) if wide else path
        try:
            store_imports.stage_csv(con, str(src), len(header), layout.staged, layout.required, layout.optional,
                                    col, limits.max_line_bytes, delimiter=opts.delimiter,
                                    line_offset=opts.line_offset)
        except duckdb.Error as exc:  # what the reader cannot set aside as a rejected line
            detail = str(exc).replace(str(src), source).replace(str(path), source).splitlines()[0][:300]
            raise ReadError.t("import.not_readable", source=source, kind="CSV", detail=detail) from None
    if wide:
        store_imports.annotate_malformed(con, pa.table({
            "line_no": pa.array([n + opts.line_offset for n in wide], pa.int64()),
            "raw": [raw_of.get(n + opts.line_offset, "") for n in wide],
            "detail": [f"{n:,} fields; a line has at most {limits.max_fields_per_line}" for n in wide.values()]}))
    _apply_profile(con, layout, opts)
    return layout


def _wide_csv(path: Path, source: str, limits: ReadLimits, opts: ReadOptions):
    """(header, text columns, line numbers, malformed line numbers) of a wide UTF-8 CSV file,
    read by Arrow's CSV reader."""
    import pyarrow.csv as pacsv

    header = csv_header(path, source, limits, opts.delimiter)
    if len(header) > limits.max_columns * 64:
        raise ReadError(f"{source}: {len(header):,} columns; a wide file has at most {limits.max_columns * 64}")
    bad: list[int] = []

    def invalid(row) -> str:
        if row.number is not None:
            bad.append(row.number)
        return "skip"

    try:
        table = pacsv.read_csv(
            path, read_options=pacsv.ReadOptions(column_names=[f"c{i}" for i in range(len(header))], skip_rows=1,
                                                 encoding="utf8"),
            parse_options=pacsv.ParseOptions(delimiter=opts.delimiter, invalid_row_handler=invalid),
            convert_options=pacsv.ConvertOptions(column_types={f"c{i}": pa.string() for i in range(len(header))},
                                                 strings_can_be_null=True))
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise ReadError.t("import.not_readable", source=source, kind="CSV", detail=str(exc)[:300]) from None
    n = len(table)
    # data line i (from 0) is line i + 2 of the staged file (blank lines are not counted)
    lines = pa.array(range(2 + opts.line_offset, n + 2 + opts.line_offset), pa.int64())
    return header, [table.column(i).combine_chunks() for i in range(len(header))], lines, bad


def read_csv_wide(con, path: Path, source: str, limits: ReadLimits = DEFAULT, *,
                  opts: ReadOptions = profiles.DEFAULT) -> Layout:
    """A wide UTF-8 CSV file (a time column, one column per meter) read as text and melted into
    rows (:func:`greenpark.ingest.profiles.melt`)."""
    header, columns, lines, bad = _wide_csv(path, source, limits, opts)
    layout = stage_table(con, header, columns, lines, source, limits, opts)
    if bad:
        store_imports.add_malformed(con, pa.table({
            "line_no": pa.array([b + opts.line_offset for b in bad], pa.int64()),
            "raw": pa.array(["" for _ in bad], pa.string()),
            "detail": pa.array(["the row does not have the header's columns" for _ in bad], pa.string())}))
    return layout


def wide_csv_as_long(path: Path, source: str, limits: ReadLimits, opts: ReadOptions, out: Path) -> bool:
    """Write a wide CSV file as the long CSV ``meter_id,timestamp,value`` (timestamps as ISO text)
    for the bulk path; False (nothing written) when the bulk path cannot take it (malformed lines,
    a unit, number marks or a timestamp format of the profile)."""
    import pyarrow.csv as pacsv

    if opts.unit or opts.timestamp_format or opts.decimal != "." or opts.thousands != ",":
        return False
    header, columns, lines, bad = _wide_csv(path, source, limits, opts)
    if bad:
        return False
    names = profiles.map_headers([h.strip().lower() for h in header], opts)
    if "timestamp" in names:  # the few distinct time cells as ISO text (period labels, 2025/01/01 00:15)
        t = names.index("timestamp")
        columns = [*columns[:t], store_imports.iso_timestamps(columns[t]), *columns[t + 1:]]
    names, cols, _ = profiles.melt(names, columns, lines, opts, source)
    try:
        pacsv.write_csv(pa.table(dict(zip(names, cols, strict=True))), out,
                        pacsv.WriteOptions(include_header=True, quoting_style="none"))
    except pa.ArrowInvalid:  # a cell with a comma or a quote (1,234.5): the general path reads it
        return False
    return True


def stage_table(con, names: list[str], columns: list[pa.Array], lines: pa.Array, source: str,
                limits: ReadLimits = DEFAULT, opts: ReadOptions = profiles.DEFAULT) -> Layout:
    """Text columns of a sheet or table (``names`` as in its header) into ``_raw`` with the file's
    line numbers: headers read through the profile, a wide table melted, the profile applied."""
    names = [n.strip().lower() for n in names]
    if opts.layout == "wide":
        names, columns, lines = profiles.melt(profiles.map_headers(names, opts), columns, lines, opts, source)
    layout = layout_for(names, source, limits, opts)
    cols = layout.columns(names)
    if len(lines) > limits.max_table_rows:
        raise ReadError(f"{source}: {len(lines):,} rows; send at most {limits.max_table_rows:,} at a time")
    staged = pa.table({f"c{i}": _as_text(pa.chunked_array([columns[i]])) for i in range(len(cols))})
    store_imports.stage_arrow(con, staged, layout.staged, layout.required, layout.optional,
                              {name: f"c{i}" for i, name in enumerate(cols)}, lines=lines)
    # a wide table's meter names were mapped by the melt
    _apply_profile(con, layout, dataclasses.replace(opts, meters={}) if opts.layout == "wide" else opts)
    return layout


def _apply_profile(con, layout: Layout, opts: ReadOptions) -> None:
    """The profile's rewriting of staged cells: meter names, timestamp format, number marks, unit."""
    if layout is STATION_LAYOUT or not opts.reshapes:
        return
    store_imports.apply_profile(con, meters=pa.table({"name": pa.array(list(opts.meters), pa.string()),
                                                      "meter_id": pa.array(list(opts.meters.values()), pa.string())}),
                                timestamp_format=opts.timestamp_format, decimal=opts.decimal,
                                thousands=opts.thousands, unit=opts.unit)


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


def read_parquet(con, path: Path, source: str, limits: ReadLimits = DEFAULT, *,
                 opts: ReadOptions = profiles.DEFAULT) -> Layout:
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


def _cell_text(v) -> str | None:
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        return str(int(v))  # a meter number typed as a number (1001, not 1001.0)
    return v.isoformat() if isinstance(v, dt.datetime | dt.date) else str(v)


def _sheet_rows(rows, source: str, limits: ReadLimits, opts: ReadOptions, width_hint: int | None = None):
    """(header names, text columns, line numbers) of a sheet's rows (an iterator of tuples) with the
    profile's header row and rows to skip."""
    for _ in range(opts.header_row - 1):
        if next(rows, None) is None:
            break
    header = next(rows, None)
    if header is None:
        raise ReadError.t("import.empty", source=source, header_row=opts.header_row)
    names = [str(h).strip().lower() if h not in (None, "") else f"_blank{i}" for i, h in enumerate(header)]
    while names and names[-1].startswith("_blank"):
        names.pop()
    if len(names) > limits.max_columns and opts.layout != "wide":
        raise ReadError(f"{source}: {len(names):,} columns; a file has at most {limits.max_columns}")
    for _ in range(opts.skip_rows):
        next(rows, None)
    budget = limits.max_xlsx_cells
    data = []
    for r in rows:  # the sheet's cells, row by row (the Excel readers have no columnar API)
        budget -= len(names)
        if budget < 0:
            raise ReadError(f"{source}: more than {limits.max_xlsx_cells:,} cells; export the sheet as CSV")
        if all(v in (None, "") for v in r[:len(names)]):
            data.append(None)  # a blank row keeps its line number
            continue
        data.append([_cell_text(v) for v in r[:len(names)]])
    first = opts.header_row + opts.skip_rows + 1
    keep = [i for i, r in enumerate(data) if r is not None]
    columns = [pa.array([data[i][j] if j < len(data[i]) else None for i in keep], pa.string())
               for j in range(len(names))]
    return names, columns, pa.array([first + i for i in keep], pa.int64())


def read_xlsx(con, path: Path, source: str, limits: ReadLimits = DEFAULT, *,
              opts: ReadOptions = profiles.DEFAULT) -> Layout:
    import openpyxl

    _check_xlsx(path, source, limits)
    fh = path.open("rb")  # a file object: openpyxl would refuse an .xlsx saved under the name .xls
    try:
        wb = openpyxl.load_workbook(fh, read_only=True, data_only=True)
    except Exception:
        fh.close()
        raise ReadError.t("import.not_readable", source=source, kind="Excel .xlsx", detail="openpyxl") from None
    try:
        ws = _pick_sheet(wb.sheetnames, wb.worksheets, opts, source)
        n_rows, n_cols = ws.max_row or 0, ws.max_column or 0   # the sheet's declared dimension
        if (n_cols > limits.max_columns and opts.layout != "wide") or n_rows * n_cols > limits.max_xlsx_cells:
            raise ReadError(f"{source}: the sheet declares {n_rows:,} rows x {n_cols:,} columns; at most "
                            f"{limits.max_columns} columns and {limits.max_xlsx_cells:,} cells are read "
                            "(delete empty formatted cells or export the sheet as CSV)")
        width = limits.max_columns * (64 if opts.layout == "wide" else 1) + 1
        names, columns, lines = _sheet_rows(ws.iter_rows(values_only=True, max_col=width), source, limits, opts)
    finally:
        wb.close()
        fh.close()
    return stage_table(con, names, columns, lines, source, limits, opts)


def _pick_sheet(names: list[str], sheets, opts: ReadOptions, source: str):
    s = opts.sheet
    if s is None:
        return sheets[0]
    if isinstance(s, int) or (isinstance(s, str) and s.isdigit() and s not in names):
        i = int(s) - 1
        if 0 <= i < len(sheets):
            return sheets[i]
    elif s in names:
        return sheets[names.index(s)]
    raise ReadError.t("import.no_sheet", source=source, sheet=str(s)[:60], sheets=", ".join(names[:20]))


#: the first bytes of an OLE2 compound file (a real .xls workbook)
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def read_xls(con, path: Path, source: str, limits: ReadLimits = DEFAULT, *,
             opts: ReadOptions = profiles.DEFAULT) -> Layout:
    """A legacy Excel .xls workbook (xlrd), or what many systems save as .xls: an HTML table
    (their "导出Excel") or an .xlsx under the old name."""
    with path.open("rb") as fh:
        head = fh.read(8)
    if head.startswith(b"PK"):
        return read_xlsx(con, path, source, limits, opts=opts)
    if head != _OLE2:
        return read_html_table(con, path, source, limits, opts=opts)
    import xlrd

    try:
        book = xlrd.open_workbook(str(path), on_demand=True)
    except Exception as exc:
        raise ReadError.t("import.not_readable", source=source, kind="Excel .xls", detail=str(exc)[:200]) from None
    try:
        ws = _pick_sheet(book.sheet_names(), [book.sheet_by_index(i) for i in range(book.nsheets)], opts, source)
        if ws.nrows * ws.ncols > limits.max_xlsx_cells:
            raise ReadError(f"{source}: the sheet has {ws.nrows:,} rows x {ws.ncols:,} columns; at most "
                            f"{limits.max_xlsx_cells:,} cells are read (export the sheet as CSV)")

        def rows():
            for r in range(ws.nrows):
                out = []
                for c in range(ws.ncols):
                    cell = ws.cell(r, c)
                    if cell.ctype == xlrd.XL_CELL_DATE:
                        out.append(xlrd.xldate_as_datetime(cell.value, book.datemode))
                    elif cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
                        out.append(None)
                    elif cell.ctype == xlrd.XL_CELL_BOOLEAN:
                        out.append(bool(cell.value))
                    else:
                        out.append(cell.value)
                yield tuple(out)

        names, columns, lines = _sheet_rows(rows(), source, limits, opts)
    finally:
        book.release_resources()
    return stage_table(con, names, columns, lines, source, limits, opts)


def html_rows(text: str) -> list[tuple]:
    """The rows of the first table of an HTML document (cells as text), read by the standard
    library's HTML parser."""
    from html.parser import HTMLParser

    class Table(HTMLParser):
        def __init__(self):
            super().__init__(convert_charrefs=True)
            self.rows, self.row, self.cell, self.depth, self.done = [], None, None, 0, False

        def handle_starttag(self, tag, attrs):
            if self.done:
                return
            if tag == "table":
                self.depth += 1
            elif tag == "tr" and self.depth == 1:
                self.row = []
            elif tag in ("td", "th") and self.row is not None and self.depth == 1:
                self.cell = []

        def handle_endtag(self, tag):
            if self.done:
                return
            if tag in ("td", "th") and self.cell is not None:
                self.row.append("".join(self.cell).strip() or None)
                self.cell = None
            elif tag == "tr" and self.row is not None:
                self.rows.append(tuple(self.row))
                self.row = None
            elif tag == "table":
                self.depth -= 1
                self.done = self.depth == 0 and bool(self.rows)

        def handle_data(self, data):
            if self.cell is not None:
                self.cell.append(data)

    p = Table()
    p.feed(text)
    p.close()
    return p.rows


def read_html_table(con, path: Path, source: str, limits: ReadLimits = DEFAULT, *,
                    opts: ReadOptions = profiles.DEFAULT) -> Layout:
    """An HTML table saved under .xls (its encoding from its meta charset, the profile or detection)."""
    import re

    raw = path.read_bytes()
    m = re.search(rb"charset\s*=\s*[\"']?([A-Za-z0-9_\-]+)", raw[:4096])
    enc = profiles.codec_name(opts.encoding or m.group(1).decode()) if (opts.encoding or m) else None
    enc = enc or profiles.detect_encoding(path, source)
    try:
        text = raw.decode(enc)
    except UnicodeDecodeError as exc:
        raise ReadError.t("import.bad_encoding", source=source, line=raw[:exc.start].count(b"\n") + 1,
                          encoding=enc) from None
    if "<table" not in text[:1 << 20].lower():
        raise ReadError.t("import.not_readable", source=source, kind="Excel .xls",
                          detail="neither an Excel workbook nor an HTML table")
    # an HTML table has rows, not lines: row k of the table (from 1) is "line" k
    names, columns, lines = _sheet_rows(iter(html_rows(text)), source, limits, opts)
    return stage_table(con, names, columns, lines, source, limits, opts)


READERS = {".csv": read_csv, ".txt": read_csv, ".parquet": read_parquet, ".pq": read_parquet, ".xlsx": read_xlsx,
           ".xls": read_xls}
