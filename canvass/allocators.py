"""The process's memory allocators, set for million-row work (imports, exports): once, where a process starts.

Importing this module changes nothing; ``tune_memory_for_bulk_work`` does, for the whole process. It loads no
pyarrow of its own, so a command that does no bulk work pays nothing for it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

M_ARENA_MAX = -8  # from glibc's malloc.h


def tune_memory_for_bulk_work() -> None:
    """Arrow allocates with the C library's allocator, in two glibc arenas. Called by the app factory and the command
    line before their threads allocate; calling it again changes nothing.

    Arrow's own allocator (mimalloc in the wheels) hands freed memory back to the system within milliseconds, so the
    big short-lived arrays of an import are page-faulted in again and again: 4 s of system time per million rows,
    against 1.3 s with the C library's allocator, on a machine whose two cores the database shares."""
    if "pyarrow" in sys.modules:
        import pyarrow as pa

        if pa.default_memory_pool().backend_name != "system":
            pa.set_memory_pool(pa.system_memory_pool())
    else:
        os.environ["ARROW_DEFAULT_MEMORY_POOL"] = "system"  # read by pyarrow when it first allocates
    _fewer_malloc_arenas()


def _fewer_malloc_arenas() -> None:
    """glibc gives each thread that allocates its own arena, and memory freed in one is not reused by another: with
    the import's threads, a million-row import peaked at 1.9 GB instead of 1.5 GB. Two arenas are enough here."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(M_ARENA_MAX, 2)
    except (OSError, AttributeError):  # not glibc (macOS, musl): their allocators have no such setting
        pass
