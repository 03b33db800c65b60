"""Write the trained model as an HF directory (save_pretrained of model and tokenizer) and the run's final metrics."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import torch
from composer.core import Callback, State
from composer.loggers import Logger
from composer.utils import dist

log = logging.getLogger(__name__)


def final_metrics(state: State) -> dict[str, Any]:
    """The last eval metrics (`eval_loss` is the masked-token cross-entropy) and the run's time counters."""
    metrics: dict[str, Any] = {f"eval/{name}": float(value) for name, value in state.eval_metric_values.items()}
    if "LanguageCrossEntropy" in state.eval_metric_values:
        metrics["eval_loss"] = float(state.eval_metric_values["LanguageCrossEntropy"])
    timestamp = state.timestamp
    metrics.update(
        {
            "batches": int(timestamp.batch),
            "samples": int(timestamp.sample),
            "tokens": int(timestamp.token),
            "epochs": int(timestamp.epoch),
        }
    )
    return metrics


class HFExport(Callback):
    """At the end of fit, on rank 0: `<run_dir>/hf` (loads with AutoModelForMaskedLM.from_pretrained) and
    `<run_dir>/metrics.json`."""

    def __init__(self, run_dir: str | Path, export: bool = True):
        self.run_dir = Path(run_dir)
        self.export = export

    def fit_end(self, state: State, logger: Logger) -> None:
        if dist.get_global_rank() != 0:
            return
        composer_model = state.model.module if hasattr(state.model, "module") else state.model
        metrics = final_metrics(state)
        if self.export:
            out = self.run_dir / "hf"
            hf_model = composer_model.model
            with torch.no_grad():
                hf_model.save_pretrained(out)
            if composer_model.tokenizer is not None:
                composer_model.tokenizer.save_pretrained(out)
            log.info("HF export written to %s", out)
            metrics["hf_export"] = str(out)
        (self.run_dir / "metrics.json").write_text(json.dumps(metrics, indent=2, sort_keys=True))
