"""Name -> builder registries so a YAML can say `algorithms: {name: {...}}` or `callbacks: {name: {...}}`.

Later modules add entries with `register_algorithm` / `register_callback`; an unknown name or option is a config
error that names itself."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from docketbert.config import ConfigError

ALGORITHMS: dict[str, Callable[..., Any]] = {}
CALLBACKS: dict[str, Callable[..., Any]] = {}


def register_algorithm(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def add(builder: Callable[..., Any]) -> Callable[..., Any]:
        ALGORITHMS[name] = builder
        return builder

    return add


def register_callback(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def add(builder: Callable[..., Any]) -> Callable[..., Any]:
        CALLBACKS[name] = builder
        return builder

    return add


def check_all(
    section: str, registry: dict[str, Callable[..., Any]], entries: dict[str, Any], context: set[str]
) -> None:
    """Check a config section's names and options against the registry without building anything: an unknown
    name, an unknown option, or a required option not given raises ConfigError naming it. `context` names the
    keyword arguments the run supplies (run_dir, tokenizer, cfg)."""
    for name, options in (entries or {}).items():
        if name not in registry:
            known = ", ".join(sorted(registry)) or "none registered"
            raise ConfigError(f"unknown {section[:-1]} {section}.{name!r} (known: {known})")
        if options is not None and not isinstance(options, dict):
            raise ConfigError(f"{section}.{name}={options!r}: must be a mapping of options ({{}} for none)")
        params = inspect.signature(registry[name]).parameters
        for key in options or {}:
            if key not in params or key in context:
                raise ConfigError(f"unknown option {section}.{name}.{key}")
        for key, param in params.items():
            required = param.default is inspect.Parameter.empty and param.kind not in (
                param.VAR_KEYWORD,
                param.VAR_POSITIONAL,
            )
            if required and key not in (options or {}) and key not in context:
                raise ConfigError(f"{section}.{name} needs the option {section}.{name}.{key}")


def build_all(
    section: str, registry: dict[str, Callable[..., Any]], entries: dict[str, Any], **context: Any
) -> list[Any]:
    """Build every entry of a config section. Builders may take keyword `context` (run_dir, tokenizer, ...)
    beside their own options; an option the builder does not take is an error naming it."""
    built = []
    for name, options in (entries or {}).items():
        if name not in registry:
            known = ", ".join(sorted(registry)) or "none registered"
            raise ConfigError(f"unknown {section[:-1]} {section}.{name!r} (known: {known})")
        builder = registry[name]
        options = dict(options or {})
        params = inspect.signature(builder).parameters
        for key in options:
            if key not in params or key in context:
                raise ConfigError(f"unknown option {section}.{name}.{key}")
        extra = {k: v for k, v in context.items() if k in params}
        built.append(builder(**options, **extra))
    return built


def load_plugins() -> None:
    """Import every module of docketbert.algorithms and docketbert.callbacks, so each registers its YAML name."""
    import importlib
    import pkgutil

    for package_name in ("docketbert.algorithms", "docketbert.callbacks"):
        package = importlib.import_module(package_name)
        for module in pkgutil.iter_modules(package.__path__):
            importlib.import_module(f"{package_name}.{module.name}")
