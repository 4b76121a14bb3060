"""greenpark — energy, carbon and environment accounts of a green industrial park.

Layers (imports point one way; tests/test_layers.py checks it, README "Architecture")::

    edges (cli, api, web, demo, reports) -> services -> ingest -> store
                                         -> core -> park / reference / base (jsonsafe, errors)
"""

import os
import sys

__version__ = "0.1.0"


def _tune_malloc() -> None:
    """Keep large numpy temporaries on the glibc heap (Linux).

    The vectorised cores make many short-lived arrays of a few MB. With glibc's defaults each one
    is a fresh mmap that page-faults on first touch and is unmapped on free; raising the mmap and
    trim thresholds lets the heap reuse those pages, which halves the time of e.g. the AQI of half
    a million records. The cost is that up to 256 MB of freed memory stays with the process.
    Set GREENPARK_MALLOC_TUNING=0 to keep glibc's defaults.
    """
    if os.environ.get("GREENPARK_MALLOC_TUNING", "1") == "0" or not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3  # <malloc.h> parameter numbers
        libc.mallopt(m_mmap_threshold, 32 * 1024 * 1024)  # glibc's maximum on 64-bit
        libc.mallopt(m_trim_threshold, 256 * 1024 * 1024)
    except (OSError, AttributeError):  # another C library (musl): nothing to tune
        pass


_tune_malloc()
