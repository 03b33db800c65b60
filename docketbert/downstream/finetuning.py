"""Fine-tune a (docketbert or any ModernBERT) model on a labelled task through the Composer Trainer.

    python -m docketbert.finetune --task entry_type --train ../shared/data/entry_type.jsonl \\
        --init runs/base150m --output runs/ft/entry_type
    python -m docketbert.finetune yamls/finetune/entry_type.yaml [--epochs 5 ...]   # flags override the YAML

Tasks (`docketbert.downstream.tasks.TASKS`): entry_type (single-label, `label`), multilabel (`labels` list; a
single `label` is a one-element list; BCE loss), citations (`spans`, token classification with BIO tags). The
schema is `docketbert.config.FinetuneConfig`; a YAML may start from others (`defaults: [...]`). `--init` is an HF
name, a directory, or an earlier docketbert run name (runs/<name>/hf); `--from-scratch` builds the same shape with
random weights.
Without --eval the train file is split by `case` (seeded) and the split is recorded. Output: an HF export with
its head, id2label/label2id and the tokenizer; `docketbert_finetune.json` (settings, split); `metrics.json`
(held-out metrics and baselines).
Every user error is found before training and is one line with exit code 2: values out of range, missing or
misplaced files, bad rows, an --eval label the head cannot predict, an init or tokenizer that does not load, a
max_length beyond the init's positions.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from docketbert.config import ConfigError, FinetuneConfig, load_finetune_config
from docketbert.core.device import composer_device, resolve_device, resolve_precision
from docketbert.core.paths import require_input_file, require_output_dir
from docketbert.core.tokenizer import tokenizer_fault
from docketbert.downstream.finetune_record import RECORD
from docketbert.downstream.tasks import TASKS, Task, get_task, load_task, split_by_case
from docketbert.model.build import resolve_model_source
from docketbert.model.packed_attention import install_padding_safe_masks
from docketbert.model.weights import load_pretrained, weights_fault
from docketbert.training.optim import adamw

log = logging.getLogger("docketbert.finetune")


def load_config(yaml_path: str | Path | list | None, overrides: dict[str, Any]) -> FinetuneConfig:
    """`docketbert.config.load_finetune_config` (the YAML with its `defaults:`, then the flags given), plus the
    checks that need the tasks: a known task, and `balanced` only where class weights apply."""
    cfg = load_finetune_config(yaml_path, overrides)
    if cfg.task not in TASKS:
        raise ConfigError(f"invalid value for config key 'task': {cfg.task!r} is not one of {', '.join(TASKS)}")
    if cfg.balanced and not TASKS[cfg.task].class_weights:
        single = ", ".join(name for name, task in TASKS.items() if task.class_weights)
        raise ConfigError(f"bad finetune config: balanced (class weights) is for {single}, not {cfg.task}")
    for key, ok, allowed in (
        ("epochs", cfg.epochs >= 1, "an integer >= 1"),
        ("lr", cfg.lr > 0, "a number > 0"),
        ("weight_decay", cfg.weight_decay >= 0, "a number >= 0"),
        ("warmup", 0 <= cfg.warmup <= 1, "a fraction of training in [0, 1]"),
        ("batch_size", cfg.batch_size >= 1, "an integer >= 1"),
        ("max_length", cfg.max_length >= 2, "tokens, an integer >= 2 ([CLS] and [SEP] included)"),
        ("eval_fraction", 0 < cfg.eval_fraction < 1, "a fraction in (0, 1)"),
        ("device", cfg.device in DEVICES, f"one of {', '.join(DEVICES)}"),
        ("precision", cfg.precision in PRECISIONS, f"one of {', '.join(PRECISIONS)}"),
        ("attn_implementation", cfg.attn_implementation in ATTENTIONS, f"one of {', '.join(ATTENTIONS)}"),
    ):
        if not ok:
            raise ConfigError(f"invalid value for config key {key!r}: {getattr(cfg, key)!r} (allowed: {allowed})")
    return cfg


DEVICES = ("auto", "gpu", "cpu")
PRECISIONS = ("auto", "fp32", "amp_bf16", "amp_fp16", "amp_fp8")  # Composer's, and auto
ATTENTIONS = ("sdpa", "eager", "flash_attention_2", "flex_attention")


def check_inputs(cfg: FinetuneConfig) -> None:
    """The paths a fine-tune reads and writes, before anything is loaded: the task files exist, and the output is
    a directory or can become one."""
    for key, value in (("train", cfg.train), ("eval", cfg.eval)):
        if value is not None:
            require_input_file(value, f"--{key}")
    require_output_dir(cfg.output, f"--output {cfg.output}")


def init_config(cfg: FinetuneConfig, source: str):
    """The init's config (its max_position_embeddings bound max_length), or a one-line error saying what `--init`
    may be: a run name (`<run_root>/<name>/hf`), a model directory, or an HF model name. A directory's weights must
    be safetensors (unless --from-scratch, which reads only its config)."""
    from transformers import AutoConfig

    config = _load_pretrained(AutoConfig, "--init", cfg.init, source, "config.json", f"no run {cfg.run_root}/")
    fault = None if cfg.from_scratch or not Path(source).is_dir() else weights_fault(source)
    if fault:
        raise ValueError(f"--init {cfg.init}: {fault}")
    positions = getattr(config, "max_position_embeddings", None)
    if positions is not None and cfg.max_length > positions:
        raise ConfigError(
            f"invalid value for config key 'max_length': {cfg.max_length} is more than the "
            f"{positions} positions of --init {cfg.init}"
        )
    return config


def load_tokenizer(cfg: FinetuneConfig, source: str):
    """`--tokenizer`, else the init's tokenizer, or a one-line error naming which."""
    from transformers import AutoTokenizer

    flag, given = ("--tokenizer", cfg.tokenizer) if cfg.tokenizer else ("--init", cfg.init)
    fault = tokenizer_fault(cfg.tokenizer or source)
    if fault:
        raise ValueError(f"{flag} {given}: {fault}")
    return _load_pretrained(AutoTokenizer, flag, given, cfg.tokenizer or source, "tokenizer")


def _load_pretrained(cls, flag: str, given: str, source: str, needs: str, also: str = ""):
    """`cls.from_pretrained(source)`; a failure is a FileNotFoundError in one line: a directory that lacks what is
    needed, or a name that is neither a directory nor a loadable HF hub name (offline, or no such model)."""
    path = Path(source)
    if path.exists() and not path.is_dir():
        raise FileNotFoundError(f"{flag} {given}: {source} is a file, not a model directory")
    if path.is_dir() and needs.endswith(".json") and not (path / needs).is_file():
        raise FileNotFoundError(f"{flag} {given}: {source} has no {needs}, so it is not a model directory")
    try:
        return cls.from_pretrained(source)
    except (OSError, ValueError, TypeError, KeyError) as err:
        if path.is_dir():
            reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise FileNotFoundError(f"{flag} {given}: {source} has no loadable {needs} ({reason})") from None
        where = f"{also}{given}/hf, " if also else ""
        raise FileNotFoundError(
            f"{flag} {given!r}: {where}no directory {given}, and no HF model of that name could be loaded "
            "(no network, or no such model)"
        ) from None


# ---- model and data -------------------------------------------------------------------------------------------


def build_model(
    task: str | Task, source: str, labels: list[str], from_scratch: bool, attn: str, pooling: str | None = None
):
    """`task`'s head (its config from `Task.head_config`) on `source`'s encoder, or on random weights of its
    shape."""
    from transformers import AutoConfig

    task = get_task(task)
    cls = task.model_class()
    kwargs = task.head_config(labels, pooling)
    if from_scratch:
        config = AutoConfig.from_pretrained(source, **kwargs)
        return install_padding_safe_masks(cls.from_config(config, attn_implementation=attn))
    return install_padding_safe_masks(load_pretrained(cls, source, attn_implementation=attn, **kwargs))


class LengthGroupedBatches(torch.utils.data.Sampler):
    """Batches of similar-length items, so little padding is computed: each epoch shuffles the items (seeded by
    seed and epoch), sorts windows of 16 batches by length, cuts them into batches and shuffles the batches.
    Every item appears once per epoch; the batch count equals plain batching's."""

    WINDOW = 16  # batches per sorted window: larger pads less, smaller keeps batches more random

    def __init__(self, lengths: list[int], batch_size: int, seed: int):
        super().__init__()
        self.lengths, self.batch_size, self.seed, self.epoch = np.asarray(lengths), batch_size, seed, 0

    def __len__(self) -> int:
        return -(-len(self.lengths) // self.batch_size)

    def __iter__(self):
        rng = np.random.default_rng([self.seed, self.epoch])
        self.epoch += 1
        order = rng.permutation(len(self.lengths))
        span = self.WINDOW * self.batch_size
        batches = []
        for start in range(0, len(order), span):
            window = order[start : start + span]
            window = window[np.argsort(-self.lengths[window], kind="stable")]
            batches += [window[i : i + self.batch_size].tolist() for i in range(0, len(window), self.batch_size)]
        for b in rng.permutation(len(batches)):
            yield batches[b]


def balanced_weights(items: list[dict], num_labels: int) -> torch.Tensor:
    """n / (classes present x count) per class id (0 for a class absent from training): the loss then weighs each
    class as a whole equally, which is what macro-F1 scores."""
    counts = torch.bincount(torch.tensor([it["labels"] for it in items]), minlength=num_labels).float()
    present = int((counts > 0).sum())
    return torch.where(counts > 0, len(items) / (present * counts.clamp(min=1)), torch.zeros_like(counts))


def composer_model(model, tokenizer, class_weights: torch.Tensor | None = None):
    """HuggingFaceModel; with class weights, its loss is the weighted cross-entropy of the logits."""
    from composer.models import HuggingFaceModel

    class WeightedLoss(HuggingFaceModel):
        def loss(self, outputs, batch):
            logits = outputs["logits"]
            return torch.nn.functional.cross_entropy(logits, batch["labels"], weight=class_weights.to(logits.device))

    return (WeightedLoss if class_weights is not None else HuggingFaceModel)(model, tokenizer, use_logits=True)


# ---- training -------------------------------------------------------------------------------------------------


def train_model(model, tokenizer, items: list[dict], task: str | Task, cfg: FinetuneConfig):
    """cfg.epochs over `items` with AdamW and linear warmup/decay, through composer.Trainer; returns the model."""
    from composer import Trainer
    from composer.optim import LinearWithWarmupScheduler

    torch_device = resolve_device(cfg.device)
    device = composer_device(torch_device)
    precision = resolve_precision(cfg.precision, torch_device)
    collate = get_task(task).collator(tokenizer.pad_token_id)
    if cfg.group_by_length:
        batches = LengthGroupedBatches([len(it["input_ids"]) for it in items], cfg.batch_size, cfg.seed)
        loader = torch.utils.data.DataLoader(items, batch_sampler=batches, collate_fn=collate)
    else:
        loader = torch.utils.data.DataLoader(
            items,
            batch_size=cfg.batch_size,
            shuffle=True,
            drop_last=False,
            collate_fn=collate,
            generator=torch.Generator().manual_seed(cfg.seed),
        )
    optimizer = adamw(model, cfg.lr, cfg.weight_decay, device)
    weights = balanced_weights(items, model.config.num_labels) if cfg.balanced else None
    trainer = Trainer(
        model=composer_model(model, tokenizer, weights),
        train_dataloader=loader,
        max_duration=f"{cfg.epochs}ep",
        optimizers=optimizer,
        schedulers=LinearWithWarmupScheduler(t_warmup=f"{cfg.warmup}dur", alpha_f=0.0),
        step_schedulers_every_batch=True,
        device_train_microbatch_size=cfg.batch_size,  # batches come whole
        device=device,
        precision=precision,
        seed=cfg.seed,
        progress_bar=False,
        log_to_console=True,
        console_log_interval="1ep",
        loggers=[],  # a line per epoch
    )
    trainer.fit()
    trainer.close()
    return model.eval()


def describe_init(cfg: FinetuneConfig, source: str) -> str:
    if cfg.init_kind:
        return cfg.init_kind
    if cfg.from_scratch:
        return "random init"
    return "docketbert run" if source != cfg.init else "pretrained"


def run(cfg: FinetuneConfig) -> dict:
    """Fine-tune, export, score the held-out part; returns the metrics dict that is also written to metrics.json."""
    from docketbert.downstream.evaluation import evaluate_examples

    # Every user error (paths, data, labels, init, tokenizer, lengths) is found here, before any training.
    check_inputs(cfg)
    task = get_task(cfg.task)
    examples = load_task(cfg.train, task)
    if cfg.eval:
        train, held, split = examples, load_task(cfg.eval, task), {"eval_file": cfg.eval}
    else:
        train, held, split = split_by_case(examples, cfg.seed, cfg.eval_fraction)
    source = resolve_model_source(cfg.init, cfg.run_root)
    init_config(cfg, source)
    tokenizer = load_tokenizer(cfg, source)
    # Split mode: every label of the file (a rare class may sit only in held-out cases); --eval: train's only.
    labels = task.label_names(train if cfg.eval else train + held)
    if cfg.eval:  # the head knows train's labels only: an --eval label it cannot predict is a data error
        task.check_labels(held, labels, source=f"--eval {cfg.eval}")
    from composer.utils import reproducibility

    reproducibility.seed_all(cfg.seed)  # the new head's initial weights too: a re-run is the same fine-tune
    model = build_model(task, source, labels, cfg.from_scratch, cfg.attn_implementation, cfg.pooling)
    items = task.encode(train, tokenizer, model.config.label2id, cfg.max_length)
    log.info(
        "fine-tuning %s on %d rows (%d held out), %d labels, init %s",
        cfg.task,
        len(train),
        len(held),
        len(labels),
        source,
    )
    model = train_model(model, tokenizer, items, task, cfg)

    out = Path(cfg.output)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    metrics = evaluate_examples(
        model,
        tokenizer,
        task,
        held,
        train if cfg.baselines else None,
        max_length=cfg.max_length,
        baselines=cfg.baselines,
    )
    info = {
        "config": asdict(cfg),
        "init_source": source,
        "init_kind": describe_init(cfg, source),
        "num_params": sum(p.numel() for p in model.parameters()),
        "split": split,
        "n_train": len(train),
        "n_eval": len(held),
    }
    (out / RECORD).write_text(json.dumps(info, indent=2) + "\n")
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    return metrics


def parse_args(argv: list[str]) -> tuple[str | None, dict[str, Any]]:
    p = argparse.ArgumentParser(
        prog="python -m docketbert.finetune", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("yaml", nargs="?", help="a yamls/finetune/*.yaml (flags given override it)")
    p.add_argument("--task", choices=list(TASKS))
    p.add_argument("--train", help="task JSONL (text + label | labels | spans, and case)")
    p.add_argument("--init", help="HF name, directory, or docketbert run name")
    p.add_argument("--output", help="output directory (HF export + metrics.json)")
    p.add_argument("--eval", help="held-out JSONL (default: split --train by case)")
    p.add_argument("--eval-fraction", type=float, help="held-out share of rows when splitting (default 0.2)")
    p.add_argument("--epochs", type=int, help="default 3")
    p.add_argument("--lr", type=float, help="default 5e-5")
    p.add_argument("--batch-size", type=int, help="default 32")
    p.add_argument("--max-length", type=int, help="tokens, default 512")
    p.add_argument("--seed", type=int, help="training and split seed, default 0")
    p.add_argument("--tokenizer", help="default: the init's tokenizer")
    p.add_argument("--from-scratch", action="store_true", default=None, help="random weights, init's shape")
    p.add_argument("--init-kind", help="label for the downstream table (e.g. domain, general, random init)")
    p.add_argument("--run-root", help="where run names are looked up (default runs)")
    p.add_argument("--device", choices=["auto", "gpu", "cpu"])
    p.add_argument(
        "--pooling", choices=["cls", "mean"], help="classification head input (default: the init's classifier_pooling)"
    )
    p.add_argument(
        "--balanced",
        action="store_true",
        default=None,
        help="single-label tasks: weigh each class equally in the loss (what macro-F1 rewards)",
    )
    p.add_argument(
        "--no-group-by-length",
        dest="group_by_length",
        action="store_false",
        default=None,
        help="plain shuffled batches (default: batches of similar lengths, in random order)",
    )
    p.add_argument("--no-baselines", dest="baselines", action="store_false", default=None)
    args = vars(p.parse_args(argv))
    return args.pop("yaml"), args


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    yaml_path, overrides = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        metrics = run(load_config(yaml_path, overrides))
    except ConfigError as e:
        print(f"config error: {e}", file=sys.stderr)
        return 2
    except (ValueError, OSError) as e:  # TaskDataError, ConfigError and missing files are ValueError / OSError
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(json.dumps({k: v for k, v in metrics.items() if k != "per_class"}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
