"""The downstream table: per task, which init (domain-pretrained run, the same shape from random init, a general
model) reaches what held-out score, beside the baselines, from docketbert.finetune output directories.

Hook into the report: `from docketbert.downstream_table import downstream_table; md += downstream_table(dirs)`
with `dirs` the fine-tune outputs (e.g. sorted(Path("runs/ft").glob("*/metrics.json")) parents)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable


def _main_score(metrics: dict) -> tuple[str, float]:
    return ("f1", metrics["f1"]) if "f1" in metrics and "macro_f1" not in metrics else ("macro_f1", metrics["macro_f1"])


def downstream_table(dirs: Iterable[str | Path]) -> str:
    """Markdown: one row per fine-tune (task, init, init kind, score, accuracy, best baseline, n)."""
    rows = []
    for d in dirs:
        d = Path(d)
        metrics = json.loads((d / "metrics.json").read_text())
        info_path = d / "docketbert_finetune.json"
        info = json.loads(info_path.read_text()) if info_path.exists() else {}
        key, value = _main_score(metrics)
        base = {name: _main_score(m)[1] for name, m in metrics.get("baselines", {}).items()}
        best = max(base, key=base.get) if base else None
        rows.append((metrics.get("task", "?"), info.get("config", {}).get("init", d.name), info.get("init_kind", "?"),
                     f"{key} {value:.3f}", f"{metrics['accuracy']:.3f}" if "accuracy" in metrics else "-",
                     f"{best} {base[best]:.3f}" if best else "-", str(metrics.get("n", "?"))))
    rows.sort(key=lambda r: (r[0], r[3]))
    lines = ["| task | init | init kind | held-out score | accuracy | best baseline | n |",
             "|---|---|---|---|---|---|---|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines) + "\n"
