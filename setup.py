"""Build of the optional native CPU kernels (sparsestat.linalg._native_cd, XLA FFI handlers).

Everything else is in pyproject.toml. The extension needs a C++17 compiler and the XLA FFI headers that
ship with jaxlib (a build requirement). It is optional: where it cannot be built, the install goes on and
sparsestat uses its pure-JAX code paths (``sparsestat.linalg.native.available()`` says which).
"""

import os

from setuptools import Extension, setup


def _ffi_include_dir():
    try:
        import jaxlib
    except ImportError:  # no headers: setuptools reports the failed optional build and goes on
        return None
    path = os.path.join(os.path.dirname(jaxlib.__file__), "include")
    return path if os.path.isdir(os.path.join(path, "xla", "ffi", "api")) else None


def _jaxlib_version():
    try:
        from jaxlib.version import __version__
    except ImportError:
        return "unknown"
    return __version__


include = _ffi_include_dir()
ext_modules = []
if include is not None and os.name == "posix":  # GCC / Clang flags below
    ext_modules.append(Extension(
        "sparsestat.linalg._native_cd",
        sources=["sparsestat/linalg/_native/cd_kernels.cc", "sparsestat/linalg/_native/cd_solve.cc",
                 "sparsestat/linalg/_native/logreg_solve.cc"],
        depends=["sparsestat/linalg/_native/common.h"],
        include_dirs=[include] if include else [],
        language="c++",
        # the runtime checks it: XLA's FFI is only known to be compatible within a jaxlib minor version
        define_macros=[("SPARSESTAT_JAXLIB_VERSION", f'"{_jaxlib_version()}"')],
        extra_compile_args=["-std=c++17", "-O3", "-fvisibility=hidden", "-Wno-attributes", "-Wno-return-type"],
        optional=True,
    ))

setup(ext_modules=ext_modules)
