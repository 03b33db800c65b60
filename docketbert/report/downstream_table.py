"""The downstream table: per task, which init (domain-pretrained run, the same shape from random init, a general
model) reaches what held-out score, beside the baselines, from docketbert.finetune output directories.

Hook into the report: `from docketbert.report.downstream_table import downstream_table; md += downstream_table(dirs)`
with `dirs` the fine-tune outputs (e.g. sorted(Path("runs/ft").glob("*/metrics.json")) parents)."""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from docketbert.downstream.finetune_record import finetune_record

# Settings that make fine-tunes of one init comparable; runs differing only in `seed` (split and training order)
# are repeats of one setting and are summarised together.
SETTINGS = ("epochs", "lr", "max_length", "pooling", "balanced", "batch_size")


def _main_score(metrics: dict) -> tuple[str, float]:
    return ("f1", metrics["f1"]) if "f1" in metrics and "macro_f1" not in metrics else ("macro_f1", metrics["macro_f1"])


def _load(d: Path) -> tuple[dict, dict]:
    return json.loads((d / "metrics.json").read_text()), finetune_record(d)


def _best_baseline(metrics: dict) -> tuple[str | None, float | None]:
    base = {name: _main_score(m)[1] for name, m in metrics.get("baselines", {}).items()}
    best = max(base, key=base.get) if base else None
    return best, base.get(best)


def _mean_sd(values: list[float]) -> str:
    return f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f}" if len(values) > 1 else f"{values[0]:.3f}"


def seed_summary(dirs: Iterable[str | Path]) -> str:
    """Markdown: fine-tunes that differ only in their seed (each seed its own case split and batch order), as mean
    ± sd of the held-out score beside the best baseline scored on the same splits, and how many seeds beat it.
    Empty when no setting has two seeds: one split of a few hundred rows cannot separate close scores."""
    groups: dict[tuple, list[tuple[float, str | None, float | None]]] = defaultdict(list)
    for d in dirs:
        metrics, info = _load(Path(d))
        config = info.get("config", {})
        settings = ", ".join(f"{k} {config[k]}" for k in SETTINGS if config.get(k) not in (None, False))
        key = (
            metrics.get("task", "?"),
            config.get("init", Path(d).name),
            info.get("init_kind", "?"),
            settings,
            _main_score(metrics)[0],
        )
        groups[key].append((_main_score(metrics)[1], *_best_baseline(metrics)))
    lines = [
        "| task | init | init kind | settings | seeds | held-out score, mean ± sd | best baseline, same splits "
        "| seeds beating it |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for (task, init, kind, settings, key), runs in sorted(groups.items()):
        if len(runs) < 2:
            continue
        scored = [(score, name, value) for score, name, value in runs if value is not None]
        names = "/".join(sorted({name for _, name, _ in scored}))
        shown = f"{names} {_mean_sd([value for _, _, value in scored])}" if scored else "-"
        wins = f"{sum(score > value for score, _, value in scored)} of {len(scored)}" if scored else "-"
        lines.append(
            f"| {task} | {init} | {kind} | {settings} | {len(runs)} | {key} {_mean_sd([r[0] for r in runs])} "
            f"| {shown} | {wins} |"
        )
    return "\n".join(lines) + "\n" if len(lines) > 2 else ""


def downstream_table(dirs: Iterable[str | Path]) -> str:
    """Markdown: one row per fine-tune (task, init, init kind, score, accuracy, best baseline, n), then the
    `seed_summary` of settings run with several seeds."""
    dirs = [Path(d) for d in dirs]
    rows = []
    for d in dirs:
        metrics, info = _load(d)
        key, value = _main_score(metrics)
        best, best_value = _best_baseline(metrics)
        rows.append(
            (
                metrics.get("task", "?"),
                info.get("config", {}).get("init", d.name),
                info.get("init_kind", "?"),
                f"{key} {value:.3f}",
                f"{metrics['accuracy']:.3f}" if "accuracy" in metrics else "-",
                f"{best} {best_value:.3f}" if best else "-",
                str(metrics.get("n", "?")),
            )
        )
    rows.sort(key=lambda r: (r[0], r[3]))
    lines = [
        "| task | init | init kind | held-out score | accuracy | best baseline | n |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    summary = seed_summary(dirs)
    return (
        "\n".join(lines) + "\n" + (f"\nOver seeds (each seed its own split by case):\n\n{summary}" if summary else "")
    )
