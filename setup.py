"""Build of the optional C++ extension rnnjax.cpu_kernels._lstm (the fused CPU LSTM kernel).

Everything else about the package is declared in pyproject.toml. The extension needs a C++17
compiler, the XLA FFI headers of the jaxlib wheel and OpenBLAS with its headers from the
scipy-openblas32 wheel (both in pyproject's [build-system] requires). It is optional: when it
cannot be built, the install goes on without it and rnnjax falls back to its pure-JAX paths.
"""

import importlib.util
import os
import sys

from setuptools import Extension, setup


def lstm_extension() -> list[Extension]:
    """The extension, or none when its build requirements are missing."""
    jaxlib = importlib.util.find_spec("jaxlib")
    try:
        import scipy_openblas32
    except ImportError:
        scipy_openblas32 = None
    if jaxlib is None or jaxlib.origin is None or scipy_openblas32 is None:
        print("rnnjax: jaxlib or scipy-openblas32 missing at build time; building without the "
              "fused CPU LSTM kernel", file=sys.stderr)
        return []
    return [Extension(
        "rnnjax.cpu_kernels._lstm",
        sources=["rnnjax/cpu_kernels/lstm.cc"],
        include_dirs=[os.path.join(os.path.dirname(jaxlib.origin), "include"),
                      scipy_openblas32.get_include_dir()],
        library_dirs=[scipy_openblas32.get_lib_dir()],
        libraries=[scipy_openblas32.get_library()],
        extra_compile_args=["-std=c++17", "-O3", "-fno-trapping-math"],  # vectorised gate math
        language="c++",
        optional=True,
    )]


setup(ext_modules=lstm_extension())
