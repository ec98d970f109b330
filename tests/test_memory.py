"""rnnjax.memory: freed host memory is reused instead of returned to the system (glibc), when a
program opts in; importing rnnjax changes nothing."""

import os
import platform
import subprocess
import sys

import pytest

from rnnjax.memory import keep_freed_memory

GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"

# malloc, fill and free 64 MB twice (as XLA does with a step's temporaries): faults of the 2nd.
_SECOND_ALLOCATION_FAULTS = """
import ctypes, resource
{prelude}
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
libc.memset.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t]
def faults(size=64 << 20):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    block = libc.malloc(size)
    libc.memset(block, 1, size)
    libc.free(block)
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
faults()
print(faults())
"""
_PAGES = (64 << 20) // 4096
_OPT_IN = "import rnnjax.memory; rnnjax.memory.keep_freed_memory()"


def _second_allocation_faults(prelude: str, **env: str) -> int:
    out = subprocess.run([sys.executable, "-c", _SECOND_ALLOCATION_FAULTS.format(prelude=prelude)],
                         check=True, capture_output=True, text=True, env={**os.environ, **env})
    return int(out.stdout.split()[-1])


@pytest.mark.skipif(not GLIBC, reason="glibc malloc only")
def test_freed_memory_is_reused_after_opting_in():
    assert _second_allocation_faults(_OPT_IN) < _PAGES // 10
    assert _second_allocation_faults(_OPT_IN, RNNJAX_SYSTEM_MALLOC="1") > _PAGES // 2


@pytest.mark.skipif(not GLIBC, reason="glibc malloc only")
def test_importing_rnnjax_leaves_malloc_alone():
    """A library import must not change its host program's allocator: every freed 64 MB block
    still goes back to the system, so the second allocation faults in every page again."""
    imports = "import rnnjax, rnnjax.layers, rnnjax.models, rnnjax.train, rnnjax_kernels"
    assert _second_allocation_faults(imports) > _PAGES // 2


def test_opt_out(monkeypatch):
    monkeypatch.setenv("RNNJAX_SYSTEM_MALLOC", "1")
    assert keep_freed_memory() is False
