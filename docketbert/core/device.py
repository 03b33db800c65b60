"""The one device, precision and synchronization resolver of the project.

Every command names its device the same way: `auto` (a GPU when CUDA is available, else the CPU), `cpu`, `cuda`
(or `cuda:N`), and `gpu` as Composer's name for `cuda`. Composer wants its own names (`gpu` / `cpu`):
`composer_device` gives them.
"""

from __future__ import annotations

import torch

DEVICE_CHOICES = ("auto", "cpu", "cuda", "gpu")


def resolve_device(requested: str | torch.device | None = "auto") -> torch.device:
    """The torch device for `requested`; a GPU asked for where none is is an error."""
    if requested is None or requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if requested == "gpu":
        requested = "cuda"
    try:
        device = torch.device(requested)
    except (RuntimeError, TypeError):
        raise ValueError(f"device {requested!r} is not one of {', '.join(DEVICE_CHOICES)}") from None
    if device.type not in ("cpu", "cuda"):
        raise ValueError(f"device {requested!r} is not one of {', '.join(DEVICE_CHOICES)}")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device cuda was asked for but no GPU is available")
    return device


def composer_device(device: torch.device) -> str:
    """Composer's name for a torch device: `gpu` or `cpu`."""
    return "gpu" if device.type == "cuda" else "cpu"


def resolve_precision(requested: str, device: torch.device) -> str:
    """Composer's precision; `auto` is bf16 autocast on a GPU and fp32 on the CPU."""
    if requested == "auto":
        return "amp_bf16" if device.type == "cuda" else "fp32"
    return requested


def synchronize(device: torch.device) -> None:
    """Wait for the device's queued work (timing); nothing to wait for on the CPU."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
