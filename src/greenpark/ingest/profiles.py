"""Import profiles and the text of real exports: how a file from a Chinese meter system or utility
portal is read as it is.

- :class:`ReadOptions`: a park.toml ``[profiles.NAME]`` (column map, meter-name map, header row,
  rows to skip, sheet, encoding, timestamp format, decimal and thousands marks, wide layout, unit)
  with the ``--encoding`` of the command line;
- :func:`header_aliases`: the built-in header words (表计编号, 采集时间, 读数, 单位 ...) of
  reference/data/header_aliases.csv;
- :func:`detect_encoding` (charset-normalizer; UTF-8 with or without BOM, GB18030/GBK) and
  :func:`transcode` (streamed into UTF-8, a bad byte named by its line);
- :func:`melt`: a wide table (a time column and one column per meter) into rows.

Numbers (thousands separators, full-width digits, spaces) and period labels (2025-01, 2025年1月,
202501, 2025/1, 2025年3月1日, 20250301) are read by the validation SQL
(:mod:`greenpark.store.imports`), so that every reader and the bulk path share them.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pyarrow as pa

from greenpark.errors import InputError


class ProfileError(InputError, ValueError):
    """A profile, encoding or layout that does not fit the file (greenpark.ingest turns it into IngestError)."""


#: encodings of Chinese text that GB18030 (their superset) reads
_CHINESE = {"gb2312", "gbk", "gb18030", "hz", "cp936", "euc_cn", "x_mac_simp_chinese"}
#: other double-byte East Asian encodings a detector may name for a short GBK sample
_OTHER_CJK = {"big5", "big5hkscs", "cp950", "cp949", "euc_kr", "johab", "shift_jis", "cp932", "euc_jp", "iso2022_jp",
              "iso2022_kr", "euc_jis_2004", "shift_jis_2004", "euc_jisx0213", "shift_jisx0213"}


@dataclass(frozen=True)
class ReadOptions:
    columns: dict[str, str] = field(default_factory=dict)
    meters: dict[str, str] = field(default_factory=dict)
    header_row: int = 1
    skip_rows: int = 0
    sheet: str | int | None = None
    encoding: str | None = None
    timestamp_format: str | None = None
    decimal: str = "."
    thousands: str = ","
    delimiter: str = ","
    layout: str = "long"
    unit: str | None = None
    #: lines of the original file above the staged ones (after a transcoding that dropped them)
    offset: int = 0

    @property
    def reshapes(self) -> bool:
        """Whether rows need more than the built-in reading (a profile's rewriting of cells)."""
        return bool(self.meters or self.timestamp_format or self.decimal != "." or self.thousands != ","
                    or self.unit or self.layout == "wide")

    @property
    def line_offset(self) -> int:
        """Lines of the file above its data that the reader does not see (titles, skipped rows)."""
        return self.offset + self.header_row - 1 + self.skip_rows

    @property
    def plain_csv(self) -> bool:
        """A CSV that DuckDB's reader takes as it is (the bulk path's condition)."""
        return not self.reshapes and self.line_offset == 0 and self.delimiter == ","


DEFAULT = ReadOptions()


def options(park=None, profile: str | None = None, encoding: str | None = None) -> ReadOptions:
    """The read options of ``profile`` (a ``[profiles.NAME]`` of park.toml) with ``encoding``
    (``--encoding``) over the profile's."""
    kw = {}
    if profile:
        profiles = getattr(park, "profiles", None) or {}
        if profile not in profiles:
            raise ProfileError.t("import.unknown_profile", profile=profile, known=", ".join(sorted(profiles)) or "-")
        p = profiles[profile]
        kw = {k: getattr(p, k) for k in ("columns", "meters", "header_row", "skip_rows", "sheet", "encoding",
                                         "timestamp_format", "decimal", "thousands", "layout", "unit")}
        kw["delimiter"] = "\t" if p.delimiter == "\\t" else p.delimiter
        kw["columns"] = {k.strip().lower(): v for k, v in p.columns.items()}
    if encoding:
        kw["encoding"] = encoding
    if kw.get("encoding"):
        kw["encoding"] = codec_name(kw["encoding"])
    return ReadOptions(**kw)


def codec_name(encoding: str) -> str:
    """Python's codec of an encoding name; GB2312 and GBK are read as GB18030 (their superset)."""
    try:
        name = codecs.lookup(encoding.strip()).name
    except LookupError:
        raise ProfileError.t("import.no_such_encoding", encoding=encoding[:40]) from None
    return "gb18030" if name.replace("-", "_") in _CHINESE else name


@cache
def header_aliases() -> dict[str, str]:
    """Header word (lower case) -> greenpark column, from reference/data/header_aliases.csv."""
    from greenpark import reference

    return {r["header"].strip().lower(): r["column"] for r in reference.load("header_aliases").rows}


def detect_encoding(path: Path, source: str, given: str | None = None, sample: int = 1 << 20) -> str:
    """The codec of a text file: ``given`` if any; UTF-8 (``utf-8-sig`` with a BOM) when the first
    ``sample`` bytes are UTF-8; else what charset-normalizer finds (Chinese encodings as GB18030)."""
    if given:
        return codec_name(given)
    with path.open("rb") as fh:
        head = fh.read(sample)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(head[:1 << 16]).best()  # 64 KiB are plenty for the detector (and 10x faster than 1 MiB)
    found = best.encoding.replace("-", "_") if best is not None else None
    try:
        codecs.getincrementaldecoder("gb18030")().decode(head, final=False)
        gb = True
    except UnicodeDecodeError:
        gb = False
    # exports of Chinese systems: a double-byte text that GB18030 reads is GBK/GB2312 (a short file
    # of Chinese headers is easily taken for Korean or Big5); a Big5 or Shift-JIS file needs --encoding
    if gb and (found is None or found in _CHINESE or found in _OTHER_CJK):
        return "gb18030"
    if found is not None:
        return best.encoding
    raise ProfileError.t("import.unknown_encoding", source=source)


def transcode(path: Path, encoding: str, out: Path, source: str, *, drop_lines: int = 0,
              skip_after_header: int = 0) -> None:
    """``path`` in ``encoding`` -> ``out`` in UTF-8, streamed; the first ``drop_lines`` lines
    (titles) and the ``skip_after_header`` lines after the header are dropped. A byte sequence
    that is not ``encoding`` text raises a message naming its line."""
    dec = codecs.getincrementaldecoder(encoding)()
    line = 1
    with path.open("rb") as src, out.open("wb") as dst:
        def put(chunk: bytes, final: bool = False) -> None:
            nonlocal line
            try:
                text = dec.decode(chunk, final=final)
            except UnicodeDecodeError as exc:
                bad = line + chunk[:exc.start].count(b"\n")
                raise ProfileError.t("import.bad_encoding", source=source, line=bad, encoding=encoding) from None
            line += chunk.count(b"\n")
            dst.write(text.encode("utf-8"))

        if drop_lines or skip_after_header:
            # the first lines one by one (an ASCII newline is a newline in UTF-8, GB18030, Big5...)
            for no in range(1, drop_lines + 2 + skip_after_header):
                raw = src.readline(1 << 20)
                if not raw:
                    break
                if no == drop_lines + 1:
                    put(raw)
                else:
                    line += 1
        for chunk in iter(lambda: src.read(1 << 22), b""):
            put(chunk)
        put(b"", final=True)


def map_headers(names: list[str], opts: ReadOptions) -> list[str]:
    """Header names (lower case, trimmed) -> greenpark's columns through the profile's column map
    and the built-in aliases; other names stay (a wide file's meter columns, unused columns)."""
    aliases = header_aliases()
    out = []
    for n in names:
        n = n.strip().lower()
        out.append(opts.columns.get(n) or aliases.get(n) or n)
    return out


def melt(names: list[str], columns: list[pa.Array], lines: pa.Array, opts: ReadOptions,
         source: str) -> tuple[list[str], list[pa.Array], pa.Array]:
    """A wide table (``names`` mapped by :func:`map_headers`; one text column per name) into the
    columns meter_id, timestamp, value: each meter column's cells become readings of the meter its
    header names (through the profile's meter map), on the line of their row. Returns (names,
    columns, line numbers)."""
    if "timestamp" not in names:
        raise ProfileError.t("import.wide_no_time", source=source, found=", ".join(n[:40] for n in names[:12]))
    t = names.index("timestamp")
    meters = [(i, n) for i, n in enumerate(names) if i != t and n and not n.startswith("_blank")]
    rows = len(lines)
    k = len(meters)
    if not k or not rows:
        empty = pa.array([], pa.string())
        return ["meter_id", "timestamp", "value"], [empty, empty, empty], pa.array([], pa.int64())
    import numpy as np

    meter_ids = [opts.meters.get(name, name) for _, name in meters]
    # the meter columns one after the other (meter by meter, as a long export is sorted; each
    # reading keeps the line of its row)
    meter_col = pa.DictionaryArray.from_arrays(
        pa.array(np.repeat(np.arange(k, dtype=np.int32), rows)), pa.array(meter_ids, pa.string())).cast(pa.string())
    values = pa.concat_arrays([columns[i].cast(pa.string()) for i, _ in meters])
    ts = pa.concat_arrays([columns[t].cast(pa.string())] * k)
    return ["meter_id", "timestamp", "value"], [meter_col, ts, values], pa.concat_arrays([lines] * k)
