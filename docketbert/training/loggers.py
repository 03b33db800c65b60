"""Composer loggers for a run: TensorBoard always, W&B when enabled (offline needs no account)."""

from __future__ import annotations

import os
from pathlib import Path

from composer.loggers import LoggerDestination, TensorboardLogger, WandBLogger

from docketbert.config import TrainConfig


class LocalOnlyWandBLogger(WandBLogger):
    """W&B logger that never downloads checkpoints.

    With autoresume and no local checkpoint yet, Composer asks every logger for `latest-rank0.pt`; the stock
    WandBLogger then calls `wandb.Api()`, which fails without an API key (offline runs). Checkpoints live in the
    run directory, so there is nothing to fetch from W&B."""

    def download_file(
        self, remote_file_name: str, destination: str, overwrite: bool = False, progress_bar: bool = True
    ) -> None:
        raise FileNotFoundError(f"{remote_file_name} is not fetched from W&B (checkpoints are kept locally)")


def build_loggers(cfg: TrainConfig, run_dir: Path) -> list[LoggerDestination]:
    loggers: list[LoggerDestination] = []
    if cfg.loggers.tensorboard:
        loggers.append(TensorboardLogger(log_dir=str(run_dir / "tb"), flush_interval=50))
    if cfg.loggers.wandb.enabled:
        wandb_dir = run_dir / "wandb"
        wandb_dir.mkdir(parents=True, exist_ok=True)
        mode = os.environ.get("WANDB_MODE", cfg.loggers.wandb.mode)
        loggers.append(
            LocalOnlyWandBLogger(
                project=cfg.loggers.wandb.project,
                entity=cfg.loggers.wandb.entity,
                name=cfg.run_name,
                init_kwargs={"mode": mode, "dir": str(wandb_dir), "id": cfg.run_name, "resume": "allow"},
            )
        )
    return loggers
