"""The reference's model shapes (experiments.md) as ModernBertConfig overrides, for benchmarks with random weights.

base-150M is transformers' default ModernBertConfig (ModernBERT-base); the others override it."""

from __future__ import annotations

from typing import Any

LARGE = {"hidden_size": 1024, "num_hidden_layers": 28, "num_attention_heads": 16, "intermediate_size": 2624}
SCRATCH = {  # hidden, layers, heads, intermediate; global attention every 2 layers
    "scratch-7M": (128, 6, 4, 128),
    "scratch-16M": (256, 6, 4, 384),
    "scratch-23M": (368, 4, 8, 512),
    "scratch-27M": (320, 12, 8, 480),
    "scratch-41M": (512, 8, 8, 512),
}
REFERENCE_SHAPES: dict[str, dict[str, Any]] = {
    "base-150M": {},
    "large-395M": dict(LARGE),
    **{
        name: {
            "hidden_size": h,
            "num_hidden_layers": n,
            "num_attention_heads": a,
            "intermediate_size": i,
            "global_attn_every_n_layers": 2,
        }
        for name, (h, n, a, i) in SCRATCH.items()
    },
    # Sliced models: the source's shape with fewer layers and global attention every 2 layers (as the reference did).
    "sliced-base-4l-59M": {"num_hidden_layers": 4, "global_attn_every_n_layers": 2},
    **{
        f"sliced-large-{n}l-{m}M": {**LARGE, "num_hidden_layers": n, "global_attn_every_n_layers": 2}
        for n, m in ((6, 126), (8, 150), (10, 175))
    },
}
