"""`algorithms: {layer_slicing: {...}}`: train a slice of the model that `model.init` loaded.

YAML: `{layers: [0, 3, 6]}` or `{mode: first | interleaved, num_layers: 10}`, plus `copy_head` (default true) and
`attention: keep | every_n` (with `global_attn_every_n_layers`, default 2 as in the seed).

Slicing runs at Event.INIT: after the Trainer built the optimizer (from the full model) and moved the model to its
device, and before autoresume loads a checkpoint, so a resumed run loads the sliced weights into the sliced model.
The optimizer's param groups are rebuilt to hold exactly the sliced model's parameters (same groups, same
hyperparameters), so checkpoints save what trains. The sliced parameter count goes into run_info.json and the
logged hyperparameters (`slicing/num_params`).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import torch
from composer.core import Algorithm, Event, State
from composer.loggers import Logger
from composer.utils import dist

from docketbert.config import ConfigError
from docketbert.model.build import count_parameters
from docketbert.model.modernbert import LAYER_KEY, embedding_parameters, layer_key
from docketbert.model.slicing import layer_indices, slice_layers
from docketbert.registry import register_algorithm

log = logging.getLogger(__name__)


def replace_params_in_optimizer(
    optimizer: torch.optim.Optimizer, old: torch.nn.Module, new: torch.nn.Module, layers: list[int]
) -> None:
    """Each param group keeps its hyperparameters and gets the new model's parameters whose source parameter it
    held (sliced layer j <- source layer layers[j]); new parameters without a source (slicing makes none) go to the
    group of the first parameter. Only valid before the first step (no optimizer state yet)."""
    if any(optimizer.state.values()):
        raise RuntimeError("layer_slicing must run before the optimizer has taken a step")
    group_of = {}
    for name, param in old.named_parameters():
        for index, group in enumerate(optimizer.param_groups):
            if any(p is param for p in group["params"]):
                group_of[name] = index
    new_params: list[list[torch.nn.Parameter]] = [[] for _ in optimizer.param_groups]
    for name, param in new.named_parameters():
        if not param.requires_grad:
            continue
        match = LAYER_KEY.match(name)
        source = layer_key(layers[int(match.group(1))], match.group(2)) if match else name
        new_params[group_of.get(source, 0)].append(param)
    for group, params in zip(optimizer.param_groups, new_params):
        group["params"] = params
    optimizer.state.clear()


@register_algorithm("layer_slicing")
class LayerSlicing(Algorithm):
    def __init__(
        self,
        layers: list[int] | None = None,
        mode: str | None = None,
        num_layers: int | None = None,
        copy_head: bool = True,
        attention: str = "keep",
        global_attn_every_n_layers: int = 2,
        run_dir: str | Path | None = None,
    ):
        if (layers is None) == (mode is None):
            raise ConfigError("algorithms.layer_slicing needs either `layers: [...]` or `mode` + `num_layers`")
        if mode is not None and (num_layers is None or mode not in ("first", "interleaved")):
            raise ConfigError("algorithms.layer_slicing: `mode` must be first or interleaved, with `num_layers`")
        if attention not in ("keep", "every_n"):
            raise ConfigError(f"algorithms.layer_slicing.attention {attention!r} is not one of keep, every_n")
        self.layers = None if layers is None else [int(i) for i in layers]
        self.mode, self.num_layers = mode, num_layers
        self.copy_head, self.attention, self.every_n = bool(copy_head), attention, int(global_attn_every_n_layers)
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.applied_layers: list[int] | None = None
        self.num_params: int | None = None

    def match(self, event: Event, state: State) -> bool:
        return event == Event.INIT

    def apply(self, event: Event, state: State, logger: Logger) -> None:
        composer_model = state.model
        source = composer_model.model
        source_layers = source.config.num_hidden_layers
        layers = self.layers if self.layers is not None else layer_indices(self.mode, self.num_layers, source_layers)
        sliced = slice_layers(
            source, layers, copy_head=self.copy_head, attention=self.attention, global_attn_every_n_layers=self.every_n
        )
        for optimizer in state.optimizers:
            replace_params_in_optimizer(optimizer, source, sliced, layers)
        composer_model.model = sliced
        composer_model.config = sliced.config  # HuggingFaceModel writes it into checkpoint metadata
        if hasattr(composer_model, "non_embedding_params"):
            composer_model.non_embedding_params = count_parameters(sliced) - embedding_parameters(sliced)
        self.applied_layers, self.num_params = layers, count_parameters(sliced)
        info = {
            "slicing/source_layers": source_layers,
            "slicing/layers": layers,
            "slicing/copy_head": self.copy_head,
            "slicing/attention": self.attention,
            "slicing/layer_types": list(sliced.config.layer_types),
            "slicing/num_params": self.num_params,
            "slicing/source_num_params": count_parameters(source),
        }
        logger.log_hyperparameters(info)
        log.info("layer_slicing: kept source layers %s of %d: %d parameters", layers, source_layers, self.num_params)
        del source
        self._record(info)

    def _record(self, info: dict[str, Any]) -> None:
        """run_info.json's num_params becomes the sliced count (the full source's count stays beside it)."""
        if self.run_dir is None or dist.get_global_rank() != 0:
            return
        path = self.run_dir / "run_info.json"
        run_info = json.loads(path.read_text()) if path.exists() else {}
        run_info.update({"num_params": self.num_params, "slicing": {k.split("/", 1)[1]: v for k, v in info.items()}})
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(run_info, indent=2))
