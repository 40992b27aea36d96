"""Build hook: the wheel carries the shipped model and reference data as package data.

``models/default`` and ``features/`` stay where they are in the repository (their one
editable source, read directly by a checkout or an editable install); building a wheel
copies them into the package as ``parcelrisk/_data/``, where :mod:`parcelrisk.paths`
finds them. A copy at build time, rather than symlinks or a second committed copy: no
duplicate to keep in step, and no dependence on how setuptools treats symlinks.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
SHIPPED = ("models/default", "features")


class BuildWithShippedData(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads the repository folders
        target = Path(self.build_lib) / "parcelrisk" / "_data"
        for name in SHIPPED:
            shutil.copytree(
                ROOT / name,
                target / name,
                dirs_exist_ok=True,
                ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".*"),
            )


setup(cmdclass={"build_py": BuildWithShippedData})
