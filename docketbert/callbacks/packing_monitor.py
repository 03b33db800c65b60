"""A Composer callback that logs how full the packed rows of each batch are."""

from __future__ import annotations

from typing import Any

from composer.core import Callback, State
from composer.loggers import Logger


class PackingMonitor(Callback):
    """Logs `packing/efficiency` (real tokens / row capacity) per batch and over the run so far."""

    def __init__(self) -> None:
        self.real = 0
        self.capacity = 0

    def after_dataloader(self, state: State, logger: Logger) -> None:
        mask = state.batch.get("attention_mask") if isinstance(state.batch, dict) else None
        if mask is None or "segments" not in state.batch:
            return
        real, capacity = int(mask.sum()), mask.numel()
        self.real += real
        self.capacity += capacity
        logger.log_metrics(
            {
                "packing/efficiency": real / max(1, capacity),
                "packing/efficiency_cumulative": self.real / max(1, self.capacity),
            }
        )

    def state_dict(self) -> dict[str, Any]:
        return {"real": self.real, "capacity": self.capacity}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.real, self.capacity = int(state.get("real", 0)), int(state.get("capacity", 0))
