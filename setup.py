"""Build the compiled hot path of the rules (``omnidesk/rules/_fast.pyx``); everything else is pure Python.

The extension is optional: without a C compiler (or Python headers) the install still succeeds,
says so, and the classifier runs its pure-Python path (same answers, about 5x slower). The
SHA-256 of the ``.pyx`` is compiled in, so a module built from an older version of the file is
never used (``omnidesk/rules/compiled.py``).
"""

import hashlib
import sys
from pathlib import Path

from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

PYX = Path("omnidesk/rules/_fast.pyx")
DIGEST = hashlib.sha256(PYX.read_bytes()).hexdigest()


class OptionalBuildExt(build_ext):
    """Build the extension if this machine can; otherwise warn and install the pure-Python package."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # any compiler failure means "no compiled path"
            self._skip(exc)

    def build_extension(self, ext: Extension) -> None:
        try:
            super().build_extension(ext)
        except Exception as exc:
            self._skip(exc)

    def get_outputs(self) -> list[str]:
        return [out for out in super().get_outputs() if Path(out).exists()]

    @staticmethod
    def _skip(exc: Exception) -> None:
        sys.stderr.write(
            f"omnidesk: the compiled rules module was not built ({exc}); the rules run in pure Python "
            "(same answers, slower). Install a C compiler and the Python headers, then `pip install -e .` again.\n"
        )


setup(
    ext_modules=cythonize(
        [
            Extension(
                "omnidesk.rules._fast",
                [str(PYX)],
                define_macros=[("OMNIDESK_FAST_SOURCE", f'"{DIGEST}"')],
                extra_compile_args=["-O2"],
                optional=True,
            )
        ],
        language_level=3,
        quiet=True,
    ),
    cmdclass={"build_ext": OptionalBuildExt},
)
