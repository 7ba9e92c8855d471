"""Large arrays served from memory the process already holds, for the length of a heavy pass.

glibc's allocator gives every array above 32 MB a mapping of its own and hands it back to the
system when the array is freed, so the next array of that size is faulted in again, page by page.
A pass over millions of events makes and drops hundreds of such arrays. On a virtual machine that
returns freed memory to its host (free page reporting, as Firecracker and many cloud machines do),
each of those faults is the host's: measured on this project's 2-core benchmark machine, memory
new to the process comes at about 0.3 GB/s, memory it holds at over 5 GB/s, and the activity
index of 1M contacts spent half its build faulting.

:func:`reused_memory` turns mappings off for the pass: large arrays come from the allocator's
heap, and what the pass frees stays there for its next array. When the pass ends the usual
settings return and the heap's free pages go back to the system: what the pass keeps (an index)
is held, the rest is not. Elsewhere than glibc (macOS, musl, Windows) it changes nothing.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import threading
from collections.abc import Iterator

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD, _M_MMAP_MAX = -1, -3, -4  # glibc's malloc.h
_USUAL = {_M_MMAP_MAX: 65_536, _M_MMAP_THRESHOLD: 32 << 20, _M_TRIM_THRESHOLD: 64 << 20}
"""glibc's defaults once its dynamic thresholds have grown (they stop growing once set)."""
_KEPT = {_M_MMAP_MAX: 0, _M_TRIM_THRESHOLD: 1 << 62}

_lock = threading.Lock()
_depth = 0  # passes running now (threads of one import nest them)


def _glibc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.gnu_get_libc_version, libc.mallopt, libc.malloc_trim  # noqa: B018 - glibc's own
    except (OSError, AttributeError):  # not glibc (macOS, Windows, musl)
        return None
    return libc


_LIBC = _glibc()


@contextlib.contextmanager
def reused_memory() -> Iterator[None]:
    """Serve large arrays from the heap while the block runs; hand free pages back after it.

    Examples
    --------
    >>> import numpy as np
    >>> with reused_memory():
    ...     total = sum(int(np.ones(1_000_000).sum()) for _ in range(3))
    >>> total
    3000000
    """
    global _depth
    if _LIBC is None:
        yield
        return
    with _lock:
        _depth += 1
        if _depth == 1:
            for option, value in _KEPT.items():
                _LIBC.mallopt(option, value)
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                for option, value in _USUAL.items():
                    _LIBC.mallopt(option, value)
                _LIBC.malloc_trim(0)


def release_freed_memory() -> None:
    """Give the memory freed so far back to the system, where the C library allows it (glibc).

    Checking a large file a part at a time frees the arrays of each part among those kept: the
    C library keeps that memory, in holes it cannot give back by itself, and a process reading
    25 million events holds a gigabyte more than its data. Dask's workers do the same
    (``malloc_trim``); elsewhere this does nothing.
    """
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


__all__ = ["release_freed_memory", "reused_memory"]
