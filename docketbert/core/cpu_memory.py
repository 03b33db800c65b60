"""Keep freed memory inside the process during CPU inference (glibc malloc tuning).

CPU inference allocates and frees the same large tensors (attention scores, activations: 1-40 MB) in every batch. With
glibc's defaults such blocks are mapped fresh for each call (above the mmap threshold) or handed back to the kernel when
freed (above the trim threshold), so every batch pays page faults on memory it just released (the cost is in
BENCHMARKS.md, "Does the unpadded CPU forward beat HF's padded one?"). Raising both thresholds keeps the blocks in the
heap: the process holds on to its peak memory instead, which an inference process reuses anyway. Other allocators
(jemalloc, tcmalloc via LD_PRELOAD) do the same by design; on systems without glibc this is a no-op.
DOCKETBERT_MALLOC_TUNING=0 turns it off.
"""

from __future__ import annotations

import ctypes
import os

M_TRIM_THRESHOLD = -1  # glibc's mallopt parameter numbers (malloc.h)
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 << 20  # the largest value glibc accepts: blocks up to 32 MB come from the heap
TRIM_THRESHOLD = 1 << 30  # free memory at the heap's top stays mapped up to 1 GB

_state: bool | None = None


def keep_freed_memory() -> bool:
    """Raise glibc's mmap and trim thresholds once per process; True when they are in effect."""
    global _state
    if _state is None:
        _state = _apply()
    return _state


def tuned() -> bool | None:
    """Whether `keep_freed_memory` took effect in this process (None: not asked)."""
    return _state


def _apply() -> bool:
    if os.environ.get("DOCKETBERT_MALLOC_TUNING", "1") == "0":
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1 and mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
