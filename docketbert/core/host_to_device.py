"""Host-to-GPU copies that do not make the host wait for the GPU.

A plain `tensor.to("cuda")` is a blocking copy, and PyTorch implements it as an asynchronous copy followed by a
synchronization of the stream: the host waits until every kernel already queued has run. In a loop over batches
that means the host cannot prepare batch i+1 while the GPU runs batch i. `to_device` copies through pinned memory
(PyTorch's caching host allocator, so the pinned blocks are reused) with `non_blocking=True`; the stream orders
the copy before the kernels that read it, and the allocator keeps the pinned block until the copy is done.
"""

from __future__ import annotations

import torch


def to_device(tensor: torch.Tensor, device: torch.device) -> torch.Tensor:
    """`tensor` (on the host) on `device`, without a synchronization on a GPU; the tensor itself on the CPU."""
    if device.type == "cpu" or tensor.device == device:
        return tensor
    return tensor.pin_memory().to(device, non_blocking=True)
