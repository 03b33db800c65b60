"""The typed schemas of a pretraining run (`TrainConfig`) and of a fine-tune (`FinetuneConfig`): YAML files (with
`defaults:` chains) + command-line overrides, merged and validated by one loader, so a mistyped key names itself
(`ConfigError`).

Every default lives here, so each YAML in yamls/ and yamls/finetune/ reads as a diff against it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from omegaconf import DictConfig, OmegaConf

try:  # OmegaConf's own YAML loader (safe; reads 1e-3 as a float), wherever this version keeps it
    from omegaconf._yaml import get_yaml_loader
except ImportError:  # pragma: no cover - older omegaconf
    from omegaconf._utils import get_yaml_loader
from omegaconf.errors import ConfigKeyError, OmegaConfBaseException, ValidationError

from docketbert.core.paths import require_input_file


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
    # Data-loader worker processes per rank: an int, or auto (the CPUs per local rank less one, at most 8;
    # docketbert/core/workers.py). Workers are persistent and prefetch `prefetch_factor` batches each.
    num_workers: Any = "auto"
    prefetch_factor: int = 4
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
    # A remote copy of the run, s3://bucket/prefix (S3 or an S3-compatible store at S3_ENDPOINT_URL; credentials
    # from the environment or ~/.aws, never from here): checkpoints go to <remote_folder>/<run_name>/checkpoints as
    # they are written, and autoresume on any machine starts from them (docketbert.training.remote_run).
    remote_folder: str | None = None

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
    """Merge YAML files (later ones win) and `key=value` overrides onto the pretraining schema, and validate its
    values (`check_train_config`). Paths, the tokenizer and the model are checked by
    `docketbert.training.run_checks.check_run`, before anything is built."""
    cfg = _load(TrainConfig, yaml_paths, overrides or [])
    check_train_config(cfg)
    return cfg


TIME_UNITS = ("ep", "ba", "sp", "tok")
_TIME = re.compile(r"^(\d+(?:\.\d*)?|\.\d+)(ep|ba|sp|tok|dur)$")
PRECISIONS = ("auto", "fp32", "amp_bf16", "amp_fp16", "amp_fp8")
DEVICES = ("auto", "gpu", "cpu")
WANDB_MODES = ("offline", "online", "disabled")


def parse_time(key: str, value: Any, allow_dur: bool, allow_zero: bool = False) -> tuple[float, str]:
    """A Composer time string (`10ba`, `2ep`, `1000sp`, `440000000tok`, and with `allow_dur` `0.05dur`) as
    (amount, unit); anything else is a ConfigError naming `key` and the forms allowed."""
    units = ", ".join((*TIME_UNITS, "dur") if allow_dur else TIME_UNITS)
    allowed = f"a {'non-negative' if allow_zero else 'positive'} integer with a unit ({units}), e.g. 1ep, 1000ba"
    allowed += ", 0.05dur (a fraction of the run)" if allow_dur else ", 440000000tok"
    match = _TIME.match(str(value).strip()) if isinstance(value, str) else None
    if match is None:
        raise ConfigError(f"{key}={value!r} is not a Composer time: use {allowed}")
    amount, unit = float(match.group(1)), match.group(2)
    if unit == "dur" and not allow_dur:
        raise ConfigError(f"{key}={value!r}: a fraction of the run (dur) is not allowed here; use {allowed}")
    if unit != "dur" and not amount.is_integer():
        raise ConfigError(f"{key}={value!r}: {unit} counts must be whole numbers; use {allowed}")
    if unit == "dur" and amount > 1:
        raise ConfigError(f"{key}={value!r}: a fraction of the run (dur) is at most 1.0dur")
    if amount == 0 and not allow_zero:
        raise ConfigError(f"{key}={value!r}: must be more than zero ({allowed})")
    return amount, unit


def _positive_int(key: str, value: Any, minimum: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{key}={value!r}: must be an integer >= {minimum}")


def _one_of(key: str, value: Any, allowed: tuple[Any, ...]) -> None:
    if isinstance(value, bool) or value not in allowed:
        raise ConfigError(f"{key}={value!r}: must be one of {', '.join(str(a) for a in allowed)}")


def _true_false_auto(key: str, value: Any) -> None:
    if not (isinstance(value, bool) or value == "auto"):
        raise ConfigError(f"{key}={value!r}: must be true, false or auto")


def check_train_config(cfg: TrainConfig) -> None:
    """Every value of a pretraining config that can be checked without files: types, ranges and units. Raises
    ConfigError with one line naming the key and what is allowed."""
    if not cfg.run_name or "/" in cfg.run_name or cfg.run_name in (".", ".."):
        raise ConfigError(f"run_name={cfg.run_name!r}: must be a non-empty name without '/'")
    _positive_int("seed", cfg.seed, 0)
    parse_time("max_duration", cfg.max_duration, allow_dur=False)
    parse_time("eval_interval", cfg.eval_interval, allow_dur=True)
    parse_time("save_interval", cfg.save_interval, allow_dur=True)
    parse_time("scheduler.warmup", cfg.scheduler.warmup, allow_dur=True, allow_zero=True)
    parse_time("loggers.console_log_interval", cfg.loggers.console_log_interval, allow_dur=True)
    _positive_int("global_train_batch_size", cfg.global_train_batch_size)
    if cfg.device_train_microbatch_size != "auto":
        if isinstance(cfg.device_train_microbatch_size, bool) or not isinstance(cfg.device_train_microbatch_size, int):
            raise ConfigError(
                f"device_train_microbatch_size={cfg.device_train_microbatch_size!r}: must be an integer >= 1 or auto"
            )
        _positive_int("device_train_microbatch_size", cfg.device_train_microbatch_size)
    _positive_int("device_eval_batch_size", cfg.device_eval_batch_size)
    if cfg.save_num_checkpoints_to_keep != -1 and cfg.save_num_checkpoints_to_keep < 1:
        raise ConfigError(
            f"save_num_checkpoints_to_keep={cfg.save_num_checkpoints_to_keep!r}: must be an integer >= 1, "
            "or -1 to keep every checkpoint"
        )
    _one_of("precision", cfg.precision, PRECISIONS)
    _one_of("device", cfg.device, DEVICES)
    opt = cfg.optimizer
    if not (math.isfinite(opt.lr) and opt.lr > 0):
        raise ConfigError(f"optimizer.lr={opt.lr!r}: must be a number > 0")
    if not (math.isfinite(opt.weight_decay) and opt.weight_decay >= 0):
        raise ConfigError(f"optimizer.weight_decay={opt.weight_decay!r}: must be a number >= 0")
    if len(opt.betas) != 2 or not all(0 <= b < 1 for b in opt.betas):
        raise ConfigError(f"optimizer.betas={list(opt.betas)!r}: must be two numbers in [0, 1)")
    if not (math.isfinite(opt.eps) and opt.eps > 0):
        raise ConfigError(f"optimizer.eps={opt.eps!r}: must be a number > 0")
    if not (0 <= cfg.scheduler.alpha_f <= 1):
        raise ConfigError(f"scheduler.alpha_f={cfg.scheduler.alpha_f!r}: must be a number in [0, 1]")
    if cfg.remote_folder is not None:
        from docketbert.core.object_store import Remote, RemoteError

        try:
            Remote.parse(cfg.remote_folder, "remote_folder")
        except RemoteError as err:
            raise ConfigError(str(err)) from None
    data = cfg.data
    if not data.path:
        raise ConfigError("data.path='': must name the MDS dataset written by data_prep/to_mds.py")
    if not (0 < data.mlm_probability < 1):
        raise ConfigError(f"data.mlm_probability={data.mlm_probability!r}: must be a number in (0, 1), e.g. 0.3")
    _positive_int("data.max_seq_len", data.max_seq_len, 8)
    _positive_int("data.pad_to_multiple_of", data.pad_to_multiple_of)
    _positive_int("data.packing_buffer", data.packing_buffer)
    _positive_int("data.prefetch_factor", data.prefetch_factor)
    _true_false_auto("data.packing", data.packing)
    workers = data.num_workers
    if workers != "auto" and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 0):
        raise ConfigError(f"data.num_workers={workers!r}: must be an integer >= 0 or auto")
    if data.eval_subset_num_batches is not None:
        _positive_int("data.eval_subset_num_batches", data.eval_subset_num_batches)
    if not data.train_split:
        raise ConfigError("data.train_split='': must name the training split (a sub-folder of data.path)")
    if data.eval_split is not None and not data.eval_split:
        raise ConfigError("data.eval_split='': name the eval split, or set it to null for no evaluation")
    _true_false_auto("model.compile", cfg.model.compile)
    if cfg.model.init is not None and not cfg.model.init.strip():
        raise ConfigError("model.init='': name an HF hub model (owner/name), a directory or a run, or set null")
    if not cfg.tokenizer:
        raise ConfigError("tokenizer='': name a tokenizer directory or an HF hub name")
    _one_of("loggers.wandb.mode", cfg.loggers.wandb.mode, WANDB_MODES)
    for section in ("algorithms", "callbacks"):
        for name, options in (getattr(cfg, section) or {}).items():
            if options is not None and not isinstance(options, dict):
                raise ConfigError(f"{section}.{name}={options!r}: must be a mapping of options ({{}} for none)")


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
            if not _has_key(merged, key) and not _is_open_dict_key(key):
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


def _load_yaml(path: Path, chain: tuple[Path, ...] = ()) -> DictConfig:
    """A YAML file, after the YAML files it names under `defaults:` (paths relative to it). A file that does not
    parse, is not a mapping, or is its own ancestor through `defaults:` is a ConfigError naming it."""
    require_input_file(path, "config file", ConfigError)
    resolved = path.resolve()
    if resolved in chain:
        cycle = " -> ".join(p.name for p in (*chain, resolved))
        raise ConfigError(f"defaults: cycle in {path}: {cycle}")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"config file {path} cannot be read: {err}") from None
    try:
        data = yaml.load(text, Loader=get_yaml_loader())  # OmegaConf's loader: safe, and 1e-3 is a float
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        tab = mark is not None and text.splitlines()[mark.line : mark.line + 1] and "\t" in text.splitlines()[mark.line]
        hint = " (a tab: YAML indents with spaces)" if tab else ""
        raise ConfigError(f"config file {path} is not valid YAML at{where}: {problem}{hint}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"config file {path} must be a mapping of keys to values (key: value), not a {type(data).__name__}"
        )
    bases = data.pop("defaults", None) or []
    if isinstance(bases, str):
        bases = [bases]
    if not isinstance(bases, list) or not all(isinstance(b, str) for b in bases):
        raise ConfigError(f"defaults: in {path} must be a list of YAML file names, not {bases!r}")
    merged = OmegaConf.create()
    for base in bases:
        merged = OmegaConf.merge(merged, _load_yaml(path.parent / base, (*chain, resolved)))
    try:
        raw = OmegaConf.create(data)
    except OmegaConfBaseException as err:
        raise ConfigError(f"config file {path}: {str(err).splitlines()[0]}") from None
    return OmegaConf.merge(merged, raw)


def _has_key(cfg: DictConfig, key: str) -> bool:
    """Whether the schema has `key` (dotted), set or not: a required key (`???`) can be set by an override."""
    node: Any = cfg
    for part in key.split("."):
        if not isinstance(node, DictConfig) or part not in node.keys():  # noqa: SIM118 - `in` is False for a required (???) key
            return False
        node = node._get_node(part)
    return True


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
