"""Keep freed host memory in the process (glibc malloc): an opt-in, process-wide setting.

XLA's CPU runtime allocates every execution's temporaries afresh (one buffer of tens of MB for a
training step) and frees them afterwards. glibc serves blocks above its mmap threshold with
``mmap`` and returns them with ``munmap``, so each step pays page faults on fresh zero pages:
on a 2-core x86_64 CPU that was a third of the default char LSTM's gradient time (buffer fills
at ~3 GB/s). With mmap off (``M_MMAP_MAX = 0``) and a 1 GiB trim threshold the heap keeps freed
blocks and the next step reuses them; the process's resident memory stays at its peak instead.

``mallopt`` caps ``M_MMAP_THRESHOLD`` at 32 MB, below XLA's temporaries, hence ``M_MMAP_MAX``.
Importing rnnjax does not apply it (a library must not change its host program's allocator);
``rnnjax.cli.run`` (every experiment launch) and the benchmarks call ``keep_freed_memory()``, and
a program of one's own calls it once at start. ``RNNJAX_SYSTEM_MALLOC=1`` makes the call a no-op.
Elsewhere (macOS, musl) nothing changes.
"""

from __future__ import annotations

import ctypes
import os
import platform

_M_TRIM_THRESHOLD = -1  # mallopt parameters, glibc's malloc.h
_M_MMAP_MAX = -4
TRIM_THRESHOLD = 1 << 30  # bytes of free heap top kept before returning memory to the system


def keep_freed_memory() -> bool:
    """Switch glibc malloc to keep freed memory; True when it did (glibc, not opted out)."""
    if os.environ.get("RNNJAX_SYSTEM_MALLOC", "") not in ("", "0"):
        return False
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(None)
        return bool(libc.mallopt(_M_MMAP_MAX, 0)) and bool(
            libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    except (OSError, AttributeError):
        return False
