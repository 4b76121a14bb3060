"""Import of meter readings and station observations through one validating path.

Where rows come from does not matter: a file (CSV, Excel .xlsx, Parquet; :func:`ingest_file`)
or a batch that arrives as a table (HTTP pushes of readings and observations, quarantine fixes,
later MQTT or Modbus gateways; :func:`ingest_batch`). Every batch flows the same way:

1. **read** (:mod:`~greenpark.ingest.readers`): the input, bounded before parsing
   (:mod:`~greenpark.ingest.limits`), becomes the staging table ``_raw`` (text cells, line
   numbers), its layout (meter or station columns) recognised from the header;
2. **validate** (:mod:`~greenpark.ingest.validate`): every row gets its parsed values and a
   stable reason code (:data:`REASONS`) or none; plausibility limits come from
   ``reference/data/plausibility.csv`` and park.toml ``[plausibility]``;
3. **registers** (:mod:`~greenpark.ingest.registers`): cumulative registers become interval
   consumption (rollover, replacement);
4. **merge** (:mod:`greenpark.store.readings`, :mod:`greenpark.store.observations`): new,
   unchanged or corrected (the new value wins, the old one goes to the history); rollups of the
   touched hours are refreshed;
5. **quarantine** (:mod:`greenpark.store.quarantine`) the rejected rows and **record** the import
   (:mod:`greenpark.store.imports`).

A clean CSV of interval readings into new hours takes the bulk path (:mod:`~greenpark.ingest.bulk`)
with identical results. An import is one transaction of the store (:meth:`Store.transaction`);
re-importing a file whose checksum was already imported changes nothing; ``force`` re-processes it
without duplicating its quarantined rows and without overriding values a later import wrote
(those rows count as ``kept``).

A server splits a file's import in two (:func:`prepare_file`, :func:`merge_prepared`): steps 1-2
run in an in-memory DuckDB beside the store's single writer (they need only a read cursor), and
only steps 3-5 hold the writer, in one transaction; the stored result is that of
:func:`ingest_file`, so that logins and other writes do not queue behind the reading of a file.

Layer: ingest. May import store, core, park, reference and the base modules; never services
or the edges (tests/test_layers.py).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from greenpark.errors import GreenparkError, InputError


class IngestError(InputError, ValueError):
    """The file cannot be read at all (missing, wrong format, missing required columns, too large)."""


from greenpark.ingest import bulk, limits, profiles, readers, registers, validate  # noqa: E402
from greenpark.ingest.limits import ReadLimits  # noqa: E402
from greenpark.ingest.profiles import ReadOptions  # noqa: E402
from greenpark.ingest.readers import (  # noqa: E402
    METER_LAYOUT,
    OPTIONAL,
    REQUIRED,
    STATION_LAYOUT,
    Layout,
    checksum_and_lines,
    file_checksum,
    table_checksum,
)
from greenpark.ingest.validate import REASONS, Plausibility, plausibility  # noqa: E402
from greenpark.store import Store  # noqa: E402
from greenpark.store import imports as store_imports  # noqa: E402
from greenpark.store import observations as store_observations  # noqa: E402
from greenpark.store import quarantine as store_quarantine  # noqa: E402
from greenpark.store import readings as store_readings  # noqa: E402

Progress = Callable[[str, float], None]
"""progress(stage, fraction_done) — called as an import moves through its stages."""

__all__ = ["METER_LAYOUT", "OPTIONAL", "REASONS", "REQUIRED", "STATION_LAYOUT", "ImportResult", "IngestError",
           "Layout", "Plausibility", "Progress", "ReadLimits", "bulk", "checksum_and_lines", "file_checksum",
           "PreparedFile", "ingest_batch", "ingest_file", "ingest_table", "limits", "merge_prepared",
           "plausibility", "prepare_file", "readers", "registers",
           "table_checksum", "validate"]


@dataclass
class ImportResult:
    source: str
    checksum: str
    import_id: int | None = None
    skipped_as_duplicate_of: int | None = None
    rows_read: int = 0
    accepted: int = 0
    unchanged: int = 0
    corrected: int = 0
    rejected: int = 0
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    #: rows of a forced re-import whose stored value a later import wrote: left as they are
    kept: int = 0
    #: "bulk" (clean CSV straight into new hours) or "general" (row-level validation and merge)
    path: str = "general"

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def _record(con, r: ImportResult, now: dt.datetime) -> None:
    store_imports.record_import(con, r.import_id, r.source, r.checksum, now, r.rows_read, r.accepted, r.unchanged,
                                r.corrected, r.rejected)


class _Skip(GreenparkError):
    """The file was imported before (and force is off): roll back the bulk attempt."""


def _as_ingest_error(exc: GreenparkError) -> IngestError:
    """An IngestError with the message (and the catalogue message, for zh/en) of ``exc``."""
    out = IngestError(str(exc))
    out.message_code, out.message_params = exc.message_code, exc.message_params
    return out


@contextmanager
def utf8_source(path: Path, source: str, opts: ReadOptions):
    """(path of UTF-8 text, options) for a CSV file: the file itself when it is UTF-8 with its header
    on the first line, else a transcoded copy in a temporary folder (the encoding detected with
    charset-normalizer or given; title lines and skipped rows dropped, their count kept as the
    options' ``offset`` so that line numbers stay those of the file)."""
    try:
        enc = profiles.detect_encoding(path, source, opts.encoding)
        if enc in ("utf-8", "utf-8-sig") and opts.header_row == 1 and opts.skip_rows == 0:
            yield path, opts
            return
        with tempfile.TemporaryDirectory(prefix="greenpark-utf8-") as tmp:
            out = Path(tmp) / "utf8.csv"
            profiles.transcode(path, enc, out, source, drop_lines=opts.header_row - 1, skip_after_header=opts.skip_rows)
            yield out, dataclasses.replace(opts, encoding="utf-8", offset=opts.line_offset, header_row=1,
                                           skip_rows=0)
    except profiles.ProfileError as exc:
        raise _as_ingest_error(exc) from None


def _file_reader(path: Path, source: str, read_limits: ReadLimits):
    """The reader of a file, once it is known to exist, to be of a supported type and not too large."""
    if not path.is_file():
        raise IngestError(f"{source}: no such file")
    reader = readers.READERS.get(path.suffix.lower())
    if reader is None:
        raise IngestError.t("import.unsupported_type", source=source, suffix=path.suffix[:20])
    size = path.stat().st_size
    if size > read_limits.max_file_bytes:
        raise IngestError(f"{source}: {size / 2**20:,.0f} MiB, more than {read_limits.max_file_bytes >> 20:,} MiB; "
                          "split it")
    return reader


def ingest_file(store: Store, path: str | Path, *, now: dt.datetime | None = None, force: bool = False,
                progress: Progress | None = None, park=None, name: str | None = None,
                read_limits: ReadLimits = limits.DEFAULT, profile: str | None = None,
                encoding: str | None = None) -> ImportResult:
    """Import one file into ``store`` in one transaction. The park's meters must be synced first.

    ``park``: its ``[plausibility]`` settings apply (defaults otherwise); ``name``: the name the
    file is known by (import log, messages; default the file's name); ``profile``: a
    ``[profiles.NAME]`` of the park; ``encoding``: of a CSV file (default: detected)."""
    path = Path(path)
    source = name or path.name
    reader = _file_reader(path, source, read_limits)
    try:
        opts = profiles.options(park, profile, encoding)
    except profiles.ProfileError as exc:
        raise _as_ingest_error(exc) from None
    if reader is readers.read_csv:
        with utf8_source(path, source, opts) as (text_path, text_opts):
            return _ingest_file(store, path, text_path, text_opts, reader, source, now, force, progress, park,
                                read_limits)
    return _ingest_file(store, path, path, opts, reader, source, now, force, progress, park, read_limits)


def _bulk(store: Store, path: Path, source: str, digest, now: dt.datetime, now_utc: dt.datetime,
          limits_: Plausibility, force: bool) -> ImportResult | None:
    """The bulk path for a clean long CSV ``path`` (a wide file written long by the reader), in
    one transaction; None when it does not apply (rolled back: the general path reads the file)."""
    con = store.con
    try:
        with store.transaction():
            import_id = store_imports.next_import_id(con)
            checksum = digest.result()[0]
            earlier = store_imports.imports_of(con, checksum)
            if earlier and not force:
                raise _Skip
            fast = bulk.load(store, path, source, import_id, now_utc, limits_, earlier)
            if fast["by_reason"]:
                raise store_readings.BulkNotApplicable("rejected lines: their line numbers are the file's")
            result = ImportResult(source=source, checksum=checksum, import_id=import_id, rows_read=fast["rows_read"],
                                  accepted=fast["new"], path="bulk")
            _record(con, result, now)
    except _Skip:
        return ImportResult(source=source, checksum=checksum, skipped_as_duplicate_of=earlier[0])
    except (store_readings.BulkNotApplicable, duckdb.Error):
        return None
    return result


def _ingest_file(store: Store, original: Path, path: Path, opts: ReadOptions, reader, source: str,
                 now: dt.datetime | None, force: bool, progress: Progress | None, park,
                 read_limits: ReadLimits) -> ImportResult:
    """:func:`ingest_file` of ``path`` (UTF-8 text of a CSV file, else ``original``); the
    checksum is that of ``original``."""
    step = progress or (lambda stage, frac: None)
    now = now or dt.datetime.now(dt.UTC)
    now_utc = now.astimezone(dt.UTC).replace(tzinfo=None)  # readings are stored as UTC wall clock
    limits_ = plausibility(park)
    con = store.con
    # the checksum is computed beside the database work (blake3 and DuckDB both release the GIL)
    with ThreadPoolExecutor(1) as pool:
        digest = pool.submit(checksum_and_lines, original, False)
        if reader is readers.read_csv and opts.layout != "wide":
            wide = None
            try:
                layout = readers.layout_for(readers.csv_header(path, source, read_limits, opts.delimiter), source,
                                            read_limits, opts)
                wide = readers.prescan(path, source, read_limits, opts.delimiter)
            except readers.ReadError as exc:
                raise _as_ingest_error(exc) from None
            reader = functools.partial(readers.read_csv, wide=wide)
            if store.engine == "duckdb" and layout is METER_LAYOUT and not wide and opts.plain_csv:
                step("bulk read", 0.05)
                try:
                    with store.transaction():
                        import_id = store_imports.next_import_id(con)
                        checksum = digest.result()[0]
                        earlier = store_imports.imports_of(con, checksum)
                        if earlier and not force:
                            raise _Skip
                        fast = bulk.load(store, path, source, import_id, now_utc, limits_, earlier)
                        result = ImportResult(source=source, checksum=checksum, import_id=import_id,
                                              rows_read=fast["rows_read"], accepted=fast["new"],
                                              rejected=sum(fast["by_reason"].values()),
                                              rejected_by_reason=dict(sorted(fast["by_reason"].items())), path="bulk")
                        _record(con, result, now)
                except _Skip:
                    step("done", 1.0)
                    return ImportResult(source=source, checksum=checksum, skipped_as_duplicate_of=earlier[0])
                except (store_readings.BulkNotApplicable, duckdb.Error):
                    pass  # rolled back; the general path reads the file row by row (and names any error)
                else:
                    step("done", 1.0)
                    return result
        elif reader is readers.read_csv and store.engine == "duckdb":  # a wide file
            with tempfile.TemporaryDirectory(prefix="greenpark-long-") as tmp:
                long_csv = Path(tmp) / "long.csv"
                try:
                    as_long = readers.wide_csv_as_long(path, source, read_limits, opts, long_csv)
                except (readers.ReadError, profiles.ProfileError) as exc:
                    raise _as_ingest_error(exc) from None
                if as_long:
                    step("bulk read", 0.05)
                    out = _bulk(store, long_csv, source, digest, now, now_utc, limits_, force)
                    if out is not None:
                        step("done", 1.0)
                        return out
        checksum = digest.result()[0]
    result = ImportResult(source=source, checksum=checksum)
    earlier = store_imports.imports_of(con, checksum)
    if earlier and not force:
        result.skipped_as_duplicate_of = earlier[0]
        step("done", 1.0)
        return result
    with store.transaction():
        result.import_id = store_imports.next_import_id(con)
        step("read", 0.05)
        with store_imports.staging(store) as stage:
            try:
                layout = reader(stage, path, source, read_limits, opts=opts)
            except (readers.ReadError, profiles.ProfileError) as exc:
                raise _as_ingest_error(exc) from None
            return _ingest_staged(store, result, layout, now, step, stage, limits_,
                                  same_as=earlier or None, protect_after=earlier[0] if earlier else None)


@dataclass
class PreparedFile:
    """A file read and validated by :func:`prepare_file`, ready for :func:`merge_prepared`."""

    source: str
    checksum: str
    now: dt.datetime
    force: bool
    #: the file was imported before (and force is off): nothing to merge
    skipped_as_duplicate_of: int | None = None
    layout: Layout | None = None
    #: the staged ``_parsed`` and ``_malformed`` tables
    tables: dict[str, pa.Table] = field(default_factory=dict)


def prepare_file(con, timezone: str, path: str | Path, *, now: dt.datetime | None = None, force: bool = False,
                 park=None, name: str | None = None, read_limits: ReadLimits = limits.DEFAULT,
                 progress: Progress | None = None, profile: str | None = None,
                 encoding: str | None = None) -> PreparedFile:
    """The part of :func:`ingest_file` that writes nothing: check, checksum, read and validate
    the file in an in-memory DuckDB (with copies of the park's meters and stations read through
    ``con``, any read cursor of the store). It needs no writing connection, so a server runs it
    beside its writer; :func:`merge_prepared` then merges the result in one transaction, and the
    stored result is that of :func:`ingest_file` (the general path: same readers, validation,
    line numbers and reasons as an import into PostgreSQL)."""
    path = Path(path)
    source = name or path.name
    reader = _file_reader(path, source, read_limits)
    try:
        opts = profiles.options(park, profile, encoding)
    except profiles.ProfileError as exc:
        raise _as_ingest_error(exc) from None
    if reader is readers.read_csv:
        with utf8_source(path, source, opts) as (text_path, text_opts):
            return _prepare_file(con, timezone, path, text_path, text_opts, reader, source, now, force, park,
                                 read_limits, progress)
    return _prepare_file(con, timezone, path, path, opts, reader, source, now, force, park, read_limits, progress)


def _prepare_file(con, timezone: str, original: Path, path: Path, opts: ReadOptions, reader, source: str,
                  now: dt.datetime | None, force: bool, park, read_limits: ReadLimits,
                  progress: Progress | None) -> PreparedFile:
    step = progress or (lambda stage, frac: None)
    now = now or dt.datetime.now(dt.UTC)
    limits_ = plausibility(park)
    with ThreadPoolExecutor(1) as pool:
        digest = pool.submit(checksum_and_lines, original, False)
        if reader is readers.read_csv and opts.layout != "wide":
            try:
                readers.layout_for(readers.csv_header(path, source, read_limits, opts.delimiter), source,
                                   read_limits, opts)
                wide = readers.prescan(path, source, read_limits, opts.delimiter)
            except readers.ReadError as exc:
                raise _as_ingest_error(exc) from None
            reader = functools.partial(readers.read_csv, wide=wide)
        checksum = digest.result()[0]
    prepared = PreparedFile(source=source, checksum=checksum, now=now, force=force)
    earlier = store_imports.imports_of(con, checksum)
    if earlier and not force:
        prepared.skipped_as_duplicate_of = earlier[0]
        return prepared
    step("read", 0.05)
    with store_imports.staging_copy(con, timezone) as stage:
        try:
            prepared.layout = reader(stage, path, source, read_limits, opts=opts)
        except (readers.ReadError, profiles.ProfileError) as exc:
            raise _as_ingest_error(exc) from None
        _validate_staged(stage, prepared.layout, now, step, limits_, timezone)
        prepared.tables = store_imports.staged_tables(stage)
    return prepared


def merge_prepared(store: Store, prepared: PreparedFile, *, progress: Progress | None = None,
                   before_commit: Callable[[ImportResult], None] | None = None) -> ImportResult:
    """Merge a file prepared by :func:`prepare_file` into ``store`` in one transaction (the
    duplicate check is made again here: another import may have committed meanwhile).
    ``before_commit(result)`` runs inside that transaction."""
    step = progress or (lambda stage, frac: None)
    con = store.con
    result = ImportResult(source=prepared.source, checksum=prepared.checksum)
    earlier = store_imports.imports_of(con, prepared.checksum)
    if prepared.skipped_as_duplicate_of is not None or (earlier and not prepared.force):
        result.skipped_as_duplicate_of = (prepared.skipped_as_duplicate_of if prepared.skipped_as_duplicate_of
                                          is not None else earlier[0])
        step("done", 1.0)
        return result
    with store.transaction():
        result.import_id = store_imports.next_import_id(con)
        store_imports.load_staged(con, prepared.tables)
        _merge_staged(store, result, prepared.layout, prepared.now, step, same_as=earlier or None,
                      protect_after=earlier[0] if earlier else None)
        if before_commit is not None:
            before_commit(result)
    return result


def ingest_batch(store: Store, park, table: pa.Table, *, source: str, now: dt.datetime | None = None,
                 checksum: str | None = None, before_commit: Callable[[ImportResult], None] | None = None,
                 progress: Progress | None = None, read_limits: ReadLimits = limits.DEFAULT) -> ImportResult:
    """Import a batch of rows from anywhere (HTTP push of readings or observations, a quarantine
    fix, a gateway) through the same path as a file.

    ``table`` has the columns of a file (``meter_id, timestamp, value[, unit]`` or the station
    layout), any type (cast to text and validated like a file's cells; booleans are not numbers);
    row i is recorded as line i + 2, as if under a header line. Rows are never skipped as a
    duplicate checksum (a re-sent batch counts as unchanged). ``before_commit(result)`` runs
    inside the import's transaction (e.g. to write an audit record atomically with the import).
    ``park`` (or None for the defaults) gives the plausibility limits. The park's meters must be
    synced into the store.
    """
    step = progress or (lambda stage, frac: None)
    now = now or dt.datetime.now(dt.UTC)
    result = ImportResult(source=source, checksum=checksum or table_checksum(table))
    limits_ = plausibility(park)
    with store.transaction():
        result.import_id = store_imports.next_import_id(store.con)
        step("read", 0.05)
        with store_imports.staging(store) as stage:
            try:
                layout = readers.read_arrow(stage, table, source, read_limits)
            except readers.ReadError as exc:
                raise _as_ingest_error(exc) from None
            _ingest_staged(store, result, layout, now, step, stage, limits_)
        if before_commit is not None:
            before_commit(result)
    return result


def ingest_table(store: Store, table: pa.Table, source: str, *, park=None, **kw) -> ImportResult:
    """:func:`ingest_batch` with the arguments in the order of earlier versions."""
    return ingest_batch(store, park, table, source=source, **kw)


def _ingest_staged(store: Store, result: ImportResult, layout: Layout, now: dt.datetime, step: Progress,
                   stage, limits_: Plausibility, *, same_as: list[int] | None = None,
                   protect_after: int | None = None) -> ImportResult:
    """Validate the rows staged in ``_raw``/``_malformed`` of ``stage`` and merge them into the
    store (inside the caller's transaction)."""
    _validate_staged(stage, layout, now, step, limits_, store.timezone)
    store_imports.ship(stage, store.con)
    return _merge_staged(store, result, layout, now, step, same_as=same_as, protect_after=protect_after)


def _validate_staged(stage, layout: Layout, now: dt.datetime, step: Progress, limits_: Plausibility,
                     timezone: str) -> None:
    """_parsed (values and reason codes) from the rows staged in ``_raw`` of ``stage``."""
    now_utc = now.astimezone(dt.UTC).replace(tzinfo=None)
    step("validate", 0.35)
    if layout.kind == "station":
        validate.validate_observations(stage, now_utc, limits_, timezone)
    else:
        validate.validate_readings(stage, now_utc, limits_, timezone)


def _merge_staged(store: Store, result: ImportResult, layout: Layout, now: dt.datetime, step: Progress, *,
                  same_as: list[int] | None = None, protect_after: int | None = None) -> ImportResult:
    """Merge the validated rows (``_parsed``, ``_malformed`` in the store's session) into the
    store, quarantine the rejected ones and record the import (inside the caller's transaction)."""
    con = store.con
    import_id = result.import_id
    now_utc = now.astimezone(dt.UTC).replace(tzinfo=None)
    if layout.kind == "station":
        store_observations.stage_valid(con)
        step("merge", 0.6)
        counts = store_observations.merge_observations(con, import_id, now_utc, protect_after=protect_after)
        return _finish(con, result, counts, (0, 0, 0), now, step, same_as, meter_rows=False)
    n_reg = store_readings.stage_interval_rows(con)
    if n_reg:
        registers.derive_cumulative(con, import_id)
    step("merge", 0.6)
    counts = store_readings.merge_readings(store, import_id, now, protect_after=protect_after)
    # register rows count by their own comparison (a first register yields no reading)
    reg_counts = (0, 0, 0)
    if n_reg:
        reg_counts, counts = store_readings.register_outcomes(con)
    return _finish(con, result, counts, reg_counts, now, step, same_as)


def _finish(con, result: ImportResult, counts: dict[str, int], reg_counts: tuple[int, int, int],
            now: dt.datetime, step: Progress, same_as: list[int] | None, meter_rows: bool = True) -> ImportResult:
    """Quarantine the rejected rows, count outcomes, record the import, drop staging tables."""
    step("quarantine", 0.9)
    by_reason = store_quarantine.add_staged(con, result.import_id, result.source, same_as_imports=same_as,
                                            meter_rows=meter_rows)
    result.rows_read = store_imports.rows_read(con)
    result.accepted = counts["new"] + reg_counts[0]
    result.unchanged = counts["unchanged"] + reg_counts[1]
    result.corrected = counts["corrected"] + reg_counts[2]
    result.kept = counts.get("kept", 0)
    result.rejected = sum(by_reason.values())
    result.rejected_by_reason = dict(sorted(by_reason.items()))
    _record(con, result, now)
    store_imports.drop_staging(con)
    step("done", 1.0)
    return result


def ingest_lake(store, park, batch, *, source: str, force: bool = False, now: dt.datetime | None = None,
                progress: Progress | None = None, limits=None):
    """Import a batch of interval readings into a Spark store's lake (:meth:`greenpark.store.lake.Lake.ingest`)
    with the rules of every import: the store's validation SQL with the unit factors and plausible
    ranges of ``park`` (``limits``: a Plausibility, or one per meter id -- a region's units), the
    same reason codes, duplicate, idempotency and ``force`` rules. ``batch``: a Spark DataFrame or
    the path of Parquet files (meter_id, timestamp, value[, unit]). ``park`` may be a Plausibility
    (whose earliest date applies)."""
    lim = limits if limits is not None else plausibility(park)
    earliest = (park if isinstance(park, Plausibility) else plausibility(park)).earliest_utc(store.timezone)
    return store.lake.ingest(store, batch, source=source, force=force, now=now, progress=progress,
                             earliest=earliest,
                             rules=lambda con, has_unit: validate.reading_rules(con, lim, has_unit=has_unit))
