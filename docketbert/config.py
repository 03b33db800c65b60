"""The typed schemas of a pretraining run (`TrainConfig`) and of a fine-tune (`FinetuneConfig`): YAML files (with
`defaults:` chains) + command-line overrides, merged and validated by one loader, so a mistyped key names itself
(`ConfigError`).

Every default lives here, so each YAML in yamls/ and yamls/finetune/ reads as a diff against it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import ConfigKeyError, OmegaConfBaseException, ValidationError


@dataclass
class ModelConfig:
    # An HF hub name or a local directory to continue pretraining from; null builds the model from `config`.
    init: str | None = None
    # ModernBertConfig overrides. From scratch they apply to ModernBERT-base's shape (transformers' defaults);
    # with `init` they override the loaded config (for example dropout).
    config: dict[str, Any] = field(default_factory=dict)
    # auto: flash_attention_2 when the flash-attn package and a GPU are present, else sdpa (logged).
    attn_implementation: str = "auto"
    # torch.compile the encoder (in place: parameter names, checkpoints and the HF export are unchanged): true,
    # false, or auto (on for packed GPU runs with flex_attention).
    compile: Any = "auto"


@dataclass
class DataConfig:
    # An MDS dataset written by data_prep/to_mds.py: a local folder, or a remote (s3://, gs://, a filesystem
    # path) that is streamed into `local`.
    path: str = "???"
    local: str | None = None
    train_split: str = "train"
    eval_split: str | None = "eval"
    max_seq_len: int = 768
    mlm_probability: float = 0.3
    shuffle: bool = True
    num_workers: int = 0
    pad_to_multiple_of: int = 8
    # Cap on eval batches (null: the whole eval split).
    eval_subset_num_batches: int | None = None
    # Pack whole entries best-fit into rows of max_seq_len tokens (docketbert/data/packing.py); a sample is then a row.
    # true, false, or auto (the default: on for GPU runs, off on CPU). Packed GPU runs use flex_attention unless
    # attn_implementation is set.
    # With packing, global_train_batch_size counts rows of max_seq_len tokens, not entries.
    packing: Any = "auto"
    # Entries buffered per packing round (per rank and dataloader worker).
    packing_buffer: int = 2048


@dataclass
class OptimizerConfig:
    lr: float = 5.0e-4
    weight_decay: float = 0.01
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])
    eps: float = 1.0e-8


@dataclass
class SchedulerConfig:
    warmup: str = "0.05dur"  # a Composer time: 0.05dur, 500ba, 1000000tok
    alpha_f: float = 0.0  # final lr as a fraction of the peak (linear decay)


@dataclass
class WandbConfig:
    enabled: bool = False
    project: str = "docketbert"
    entity: str | None = None
    # offline needs no account; `wandb sync runs/<run>/wandb/offline-run-*` uploads later.
    mode: str = "offline"


@dataclass
class LoggersConfig:
    tensorboard: bool = True
    wandb: WandbConfig = field(default_factory=WandbConfig)
    console_log_interval: str = "50ba"
    progress_bar: bool = True


@dataclass
class TrainConfig:
    run_name: str = "???"
    run_root: str = "runs"
    seed: int = 17
    tokenizer: str = "answerdotai/ModernBERT-base"
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    scheduler: SchedulerConfig = field(default_factory=SchedulerConfig)
    loggers: LoggersConfig = field(default_factory=LoggersConfig)
    max_duration: str = "1ep"  # Composer time: 1ep, 1000ba, 440000000tok
    global_train_batch_size: int = 256
    device_train_microbatch_size: Any = 16  # int, or "auto" on GPU
    device_eval_batch_size: int = 64
    eval_interval: str = "1000ba"
    save_interval: str = "1000ba"
    save_num_checkpoints_to_keep: int = 2
    autoresume: bool = True
    precision: str = "auto"  # auto: amp_bf16 on GPU, fp32 on CPU
    device: str = "auto"  # auto, gpu or cpu
    # Composer algorithms and callbacks by registry name, each with its own options.
    algorithms: dict[str, Any] = field(default_factory=dict)
    callbacks: dict[str, Any] = field(default_factory=dict)
    # Whether to write an HF export (save_pretrained) of the model and tokenizer into <run_dir>/hf at the end.
    export_hf: bool = True

    @property
    def run_dir(self) -> Path:
        return Path(self.run_root) / self.run_name


@dataclass
class FinetuneConfig:
    """A fine-tune (`python -m docketbert.finetune`); `task` is a name of `docketbert.downstream.tasks.TASKS`."""

    task: str = "???"
    train: str = "???"
    init: str = "???"  # HF name, directory, or docketbert run name
    output: str = "???"
    eval: str | None = None  # null: split `train` by case
    eval_fraction: float = 0.2
    epochs: int = 3
    lr: float = 5.0e-5
    weight_decay: float = 0.01
    warmup: float = 0.1  # fraction of training
    batch_size: int = 32
    max_length: int = 512
    seed: int = 0
    tokenizer: str | None = None  # null: the init's tokenizer
    from_scratch: bool = False  # same shape as `init`, random weights (the control for domain pretraining)
    init_kind: str | None = None  # label for the downstream table; null: derived (random / run / pretrained)
    run_root: str = "runs"
    device: str = "auto"  # auto | gpu | cpu
    precision: str = "auto"  # auto: amp_bf16 on GPU, fp32 on CPU
    attn_implementation: str = "sdpa"
    pooling: str | None = None  # classification: cls | mean; null: the init's classifier_pooling
    group_by_length: bool = True  # batches of similar lengths (less padding computed), in random order
    balanced: bool = False  # single-label: class-weighted loss, each class weighted by n / (classes x its count)
    baselines: bool = True


POOLINGS = ("cls", "mean")


class ConfigError(ValueError):
    """A YAML or override that does not fit the schema; the message names the key."""


def load_config(yaml_paths: list[str | Path], overrides: list[str] | None = None) -> TrainConfig:
    """Merge YAML files (later ones win) and `key=value` overrides onto the pretraining schema, and validate."""
    return _load(TrainConfig, yaml_paths, overrides or [])


def load_finetune_config(
    yaml_paths: str | Path | list[str | Path] | None, overrides: dict[str, Any] | None = None
) -> FinetuneConfig:
    """Merge YAML files (with their `defaults:`) and then `overrides` (a fine-tune's command-line flags, by field
    name; None values are flags not given) onto the fine-tune schema, and validate. The task name is checked
    by `docketbert.downstream.finetuning.load_config`, which knows the tasks."""
    if yaml_paths is None:
        yaml_paths = []
    elif isinstance(yaml_paths, (str, Path)):
        yaml_paths = [yaml_paths]
    flags = {k: v for k, v in (overrides or {}).items() if v is not None}
    cfg = _load(
        FinetuneConfig,
        yaml_paths,
        flags,
        missing=lambda keys: f"finetune config needs {', '.join(keys)} (flags --{' --'.join(keys)})",
    )
    if cfg.pooling not in (None, *POOLINGS):
        raise ConfigError(f"bad finetune config: pooling {cfg.pooling!r} is not one of {', '.join(POOLINGS)}")
    return cfg


def _load(schema, yaml_paths: list[str | Path], overrides: list[str] | dict[str, Any], missing=None):
    """The one loader: `schema` (a dataclass), then each YAML (after its `defaults:`), then the overrides
    (`key=value` strings, or a dict of values by field name); unknown keys, wrong types and unset required keys
    raise ConfigError naming the key."""
    merged: DictConfig = OmegaConf.structured(schema)
    try:
        for path in yaml_paths:
            merged = OmegaConf.merge(merged, _load_yaml(Path(path)))
        if isinstance(overrides, dict):
            merged = OmegaConf.merge(merged, overrides)
        for override in overrides if isinstance(overrides, list) else []:
            if "=" not in override:
                raise ConfigError(f"override {override!r} is not of the form key=value")
            key, _ = override.split("=", 1)
            if OmegaConf.select(merged, key, default="__missing__") == "__missing__" and not _is_open_dict_key(key):
                raise ConfigError(f"unknown config key {key!r} in override {override!r}")
            merged = OmegaConf.merge(merged, OmegaConf.from_dotlist([override]))
        keys = sorted(OmegaConf.missing_keys(merged))
        if keys:
            raise ConfigError(missing(keys) if missing else f"required config keys not set: {', '.join(keys)}")
        return OmegaConf.to_object(merged)
    except (ConfigKeyError, ValidationError) as err:
        raise ConfigError(_describe(err)) from None
    except OmegaConfBaseException as err:
        raise ConfigError(str(err).split("\n")[0]) from None


def _load_yaml(path: Path) -> DictConfig:
    """A YAML file, after the YAML files it names under `defaults:` (paths relative to it)."""
    if not path.exists():
        raise ConfigError(f"config file {path} does not exist")
    raw = OmegaConf.load(path)
    bases = raw.pop("defaults", None) or []
    merged = OmegaConf.create()
    for base in bases:
        merged = OmegaConf.merge(merged, _load_yaml(path.parent / str(base)))
    return OmegaConf.merge(merged, raw)


def _is_open_dict_key(key: str) -> bool:
    """Keys under free-form dicts (model.config, algorithms, callbacks) are checked by their consumers."""
    return key.split(".")[0] in {"algorithms", "callbacks"} or key.startswith("model.config.")


def _describe(err: OmegaConfBaseException) -> str:
    key = getattr(err, "full_key", None) or getattr(err, "key", None)
    message = str(err).split("\n")[0]
    if isinstance(err, ConfigKeyError) and key:
        return f"unknown config key {key!r} ({message})"
    return f"invalid value for config key {key!r}: {message}" if key else message


def to_yaml(cfg: TrainConfig) -> str:
    return OmegaConf.to_yaml(OmegaConf.structured(cfg))
