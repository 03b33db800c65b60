"""Import every module of docketbert.algorithms and docketbert.callbacks, so each registers its YAML name."""

from __future__ import annotations

import importlib
import pkgutil


def load_plugins() -> None:
    for package_name in ("docketbert.algorithms", "docketbert.callbacks"):
        package = importlib.import_module(package_name)
        for module in pkgutil.iter_modules(package.__path__):
            importlib.import_module(f"{package_name}.{module.name}")
