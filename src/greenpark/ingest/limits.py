"""Bounds on what one import may read, checked before parsing (one settings place).

An upload runs on the server's single write thread: a file that is huge, has millions of
columns, declares a gigantic Excel sheet or inflates like a zip bomb would stall every other
write. These bounds refuse such files with an :class:`~greenpark.ingest.IngestError` (HTTP 4xx)
before they are parsed. The defaults fit a year of 15-minute readings of a few thousand meters.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ReadLimits:
    #: largest file accepted [bytes] (HTTP uploads are cut off at this size while they arrive)
    max_file_bytes: int = 1 << 30
    #: most columns in a header (a file has 3-5)
    max_columns: int = 64
    #: longest line of a CSV file [bytes]; longer lines are malformed rows
    max_line_bytes: int = 1 << 16
    #: most fields in one CSV line; wider lines are malformed rows, set aside before parsing
    max_fields_per_line: int = 256
    #: most cells an .xlsx sheet may declare (its dimension, e.g. A1:E400000 = 2 million)
    max_xlsx_cells: int = 20_000_000
    #: most bytes an .xlsx (a zip archive) may inflate to
    max_xlsx_inflated_bytes: int = 1 << 30
    #: most rows in one pushed batch or Arrow table
    max_table_rows: int = 5_000_000


#: the limits used unless a caller passes others
DEFAULT = ReadLimits()
