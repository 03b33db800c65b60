"""One torch.profiler pass for the benchmarks: where the time went, and whether the device or the host bounds it."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import torch

from docketbert.core.device import synchronize


def profile_run(run: Callable[[], Any], device: torch.device, top: int = 20) -> dict[str, Any]:
    """Profile `run()` once. Returns the ops with the most self time on the device (on the CPU without a GPU), the
    wall and busy seconds, and on a GPU the busy fraction: low means the host (Python, kernel launches, mask building,
    tokenization) bounds the path, not the kernels."""
    from torch.profiler import ProfilerActivity, profile

    cuda = device.type == "cuda"
    synchronize(device)
    start = time.perf_counter()
    with profile(activities=[ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])) as prof:
        run()
        synchronize(device)
    wall = time.perf_counter() - start
    key = "self_device_time_total" if cuda else "self_cpu_time_total"
    events = list(prof.key_averages())
    busy = sum(getattr(e, key) for e in events) / 1e6
    ranked = sorted(events, key=lambda e: getattr(e, key), reverse=True)[:top]
    return {
        "clock": "device" if cuda else "cpu",
        "wall_s": round(wall, 4),
        "busy_s": round(busy, 4),
        "busy_fraction": round(busy / wall, 4) if cuda else None,
        "top": [
            {
                "op": e.key[:120],
                "self_s": round(getattr(e, key) / 1e6, 5),
                "calls": e.count,
                "share": round(getattr(e, key) / 1e6 / busy, 4) if busy else None,
            }
            for e in ranked
        ],
    }
