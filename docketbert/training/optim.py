"""The optimizer every Composer run of the project shares (pretraining and fine-tuning)."""

from __future__ import annotations

from collections.abc import Sequence

import torch


def adamw(
    model: torch.nn.Module,
    lr: float,
    weight_decay: float,
    device: str,
    betas: Sequence[float] = (0.9, 0.999),
    eps: float = 1e-8,
) -> torch.optim.Optimizer:
    """AdamW as the HF Trainer sets it up: no weight decay on biases and norm weights; fused on GPU."""
    decay, no_decay = [], []
    for param in model.parameters():
        if param.requires_grad:
            (decay if param.ndim >= 2 else no_decay).append(param)
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=lr, betas=tuple(betas), eps=eps, fused=device == "gpu")
