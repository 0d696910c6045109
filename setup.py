"""Build the compiled hot path of the rules (``omnidesk/rules/_fast.pyx``); everything else is pure Python.

The extension is optional: without a C compiler the install still succeeds and the classifier
runs its pure-Python path (same answers, slower). The SHA-256 of the ``.pyx`` is compiled in,
so a module built from an older version of the file is never used.
"""

import hashlib
from pathlib import Path

from Cython.Build import cythonize
from setuptools import Extension, setup

PYX = Path("omnidesk/rules/_fast.pyx")
digest = hashlib.sha256(PYX.read_bytes()).hexdigest()

setup(
    ext_modules=cythonize(
        [
            Extension(
                "omnidesk.rules._fast",
                [str(PYX)],
                define_macros=[("OMNIDESK_FAST_SOURCE", f'"{digest}"')],
                extra_compile_args=["-O2"],
                optional=True,
            )
        ],
        language_level=3,
        quiet=True,
    ),
)
