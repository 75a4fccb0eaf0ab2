"""Serve plotly.js from the `plotly` Python package instead of committing a 4.8 MB copy.

The package's `package_data/` also holds a widget bundle and data sets we do not want in
STATIC_ROOT, so this finder exposes exactly one file: `vendor/plotly.min.js`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import plotly
from django.contrib.staticfiles.finders import BaseFinder
from django.core.files.storage import FileSystemStorage

PLOTLY_DIR = Path(plotly.__file__).resolve().parent / "package_data"
FILE_NAME = "plotly.min.js"
PREFIX = "vendor"


class PlotlyJsFinder(BaseFinder):
    def check(self, **kwargs: Any) -> list[Any]:
        return []

    def find(self, path: str, find_all: bool = False, **kwargs: Any) -> str | list[str]:
        find_all = find_all or bool(kwargs.get("all"))  # Django < 6 still passes `all`
        if path == f"{PREFIX}/{FILE_NAME}":
            found = str(PLOTLY_DIR / FILE_NAME)
            return [found] if find_all else found
        return [] if find_all else ""

    def list(self, ignore_patterns: Any) -> Any:
        storage = FileSystemStorage(location=PLOTLY_DIR)
        storage.prefix = PREFIX  # type: ignore[attr-defined]  # read by collectstatic
        yield FILE_NAME, storage
