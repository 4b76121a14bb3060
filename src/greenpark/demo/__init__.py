"""A realistic demo park, generated deterministically from a seed.

About 30 enterprises (die casting, electronics, battery making, precision machining, a data
centre) and public buildings of a Jiangsu high-tech zone, one full year of 15-minute electricity
(with sub-meters and rooftop PV), natural gas, steam, water and diesel. Load shapes follow
shifts, weekends, Chinese public holidays and make-up working days (chinese-calendar), the
Spring Festival shutdown and summer cooling. Real-world faults are planted so that the import
path is exercised: gaps, a meter replacement, a counter rollover, duplicate rows, a stuck
meter and a file of bad rows.

Generation is vectorised over the year's timestamps (one numpy array per meter).

Layer: an edge. ``series`` holds the shared time-series generators, ``build`` the entry
(``generate``), ``carbon``/``mv``/``environment`` the domain extras; all import downwards only
(series <- mv <- build), never back into this package's ``__init__``.
"""

from __future__ import annotations

from greenpark.demo.build import INDUSTRIES, DemoFiles, generate

__all__ = ["INDUSTRIES", "DemoFiles", "generate"]
