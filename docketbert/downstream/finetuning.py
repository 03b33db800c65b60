"""Fine-tune a (docketbert or any ModernBERT) model on a labelled task through the Composer Trainer.

    python -m docketbert.finetune --task entry_type --train ../shared/data/entry_type.jsonl \\
        --init runs/base150m --output runs/ft/entry_type
    python -m docketbert.finetune yamls/finetune/entry_type.yaml [--epochs 5 ...]   # flags override the YAML

Tasks: entry_type (single-label, `label`), multilabel (`labels` list; a single `label` is a one-element list;
BCE loss), citations (`spans`, token classification with BIO tags). `--init` is an HF name, a directory, or an
earlier docketbert run name (runs/<name>/hf); `--from-scratch` builds the same shape with random weights.
Without --eval the train file is split by `case` (seeded) and the split is recorded. Output: an HF export with
its head, id2label/label2id and the tokenizer; `docketbert_finetune.json` (settings, split); `metrics.json`
(held-out metrics and baselines).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Optional

import numpy as np
import torch
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from docketbert.core.device import composer_device, resolve_device, resolve_precision
from docketbert.downstream.spans import ID2TAG, encode_spans
from docketbert.downstream.tasks import Collator, Example, label_vocab, load_task, split_by_case, task_kind
from docketbert.model.build import resolve_model_source
from docketbert.model.packed_attention import install_padding_safe_masks
from docketbert.training.optim import adamw

log = logging.getLogger("docketbert.finetune")


@dataclass
class FinetuneConfig:
    task: str = "???"
    train: str = "???"
    init: str = "???"  # HF name, directory, or docketbert run name
    output: str = "???"
    eval: Optional[str] = None  # null: split `train` by case
    eval_fraction: float = 0.2
    epochs: int = 3
    lr: float = 5.0e-5
    weight_decay: float = 0.01
    warmup: float = 0.1  # fraction of training
    batch_size: int = 32
    max_length: int = 512
    seed: int = 0
    tokenizer: Optional[str] = None  # null: the init's tokenizer
    from_scratch: bool = False  # same shape as `init`, random weights (the control for domain pretraining)
    init_kind: Optional[str] = None  # label for the downstream table; null: derived (random / run / pretrained)
    run_root: str = "runs"
    device: str = "auto"  # auto | gpu | cpu
    precision: str = "auto"  # auto: amp_bf16 on GPU, fp32 on CPU
    attn_implementation: str = "sdpa"
    pooling: Optional[str] = None  # classification: cls | mean; null: the init's classifier_pooling
    group_by_length: bool = True  # batches of similar lengths (less padding computed), in random order
    balanced: bool = False  # entry_type: class-weighted loss, each class weighted by n / (classes x its count)
    baselines: bool = True


def load_config(yaml_path: Optional[str], overrides: dict[str, Any]) -> FinetuneConfig:
    """The typed schema merged with a YAML and explicit flags; unknown keys and wrong types are errors."""
    cfg = OmegaConf.structured(FinetuneConfig)
    try:
        if yaml_path:
            cfg = OmegaConf.merge(cfg, OmegaConf.load(yaml_path))
        cfg = OmegaConf.merge(cfg, {k: v for k, v in overrides.items() if v is not None})
        missing = sorted(OmegaConf.missing_keys(cfg))
        if missing:
            raise ValueError(f"finetune config needs {', '.join(missing)} (flags --{' --'.join(missing)})")
        out = OmegaConf.to_object(cfg)
    except OmegaConfBaseException as e:
        raise ValueError(f"bad finetune config: {e}".splitlines()[0]) from None
    if task_kind(out.task) != "single" and out.balanced:  # task_kind also rejects an unknown task
        raise ValueError(f"bad finetune config: balanced (class weights) is for entry_type, not {out.task}")
    if out.pooling not in (None, "cls", "mean"):
        raise ValueError(f"bad finetune config: pooling {out.pooling!r} is not one of cls, mean")
    return out


# ---- model and data -------------------------------------------------------------------------------------------

def label_names(kind: str, train: list[Example]) -> list[str]:
    return [ID2TAG[i] for i in sorted(ID2TAG)] if kind == "spans" else label_vocab(train)


def build_model(kind: str, source: str, labels: list[str], from_scratch: bool, attn: str,
                pooling: Optional[str] = None):
    from transformers import AutoConfig, AutoModelForSequenceClassification, AutoModelForTokenClassification

    cls = AutoModelForTokenClassification if kind == "spans" else AutoModelForSequenceClassification
    kwargs = {"num_labels": len(labels), "id2label": dict(enumerate(labels)),
              "label2id": {name: i for i, name in enumerate(labels)}}
    if kind != "spans":
        kwargs["problem_type"] = "multi_label_classification" if kind == "multi" else "single_label_classification"
        if pooling:
            kwargs["classifier_pooling"] = pooling
    if from_scratch:
        config = AutoConfig.from_pretrained(source, **kwargs)
        return install_padding_safe_masks(cls.from_config(config, attn_implementation=attn))
    return install_padding_safe_masks(cls.from_pretrained(source, attn_implementation=attn, **kwargs))


def encode(examples: list[Example], tokenizer, kind: str, label2id: dict[str, int], max_length: int) -> list[dict]:
    """Token ids and labels per example (class id, multi-hot vector, or BIO tag per token)."""
    enc = tokenizer([ex.text for ex in examples], truncation=True, max_length=max_length,
                    return_offsets_mapping=kind == "spans")
    items = []
    for i, ex in enumerate(examples):
        item = {"input_ids": enc["input_ids"][i]}
        if kind == "single":
            item["labels"] = label2id[ex.labels[0]]
        elif kind == "multi":
            item["labels"] = [float(name in ex.labels) for name in label2id]
        else:
            item["labels"] = encode_spans(enc["offset_mapping"][i], ex.spans)
        items.append(item)
    return items


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
            window = order[start:start + span]
            window = window[np.argsort(-self.lengths[window], kind="stable")]
            batches += [window[i:i + self.batch_size].tolist() for i in range(0, len(window), self.batch_size)]
        for b in rng.permutation(len(batches)):
            yield batches[b]


def balanced_weights(items: list[dict], num_labels: int) -> torch.Tensor:
    """n / (classes present x count) per class id (0 for a class absent from training): the loss then weighs each
    class as a whole equally, which is what macro-F1 scores."""
    counts = torch.bincount(torch.tensor([it["labels"] for it in items]), minlength=num_labels).float()
    present = int((counts > 0).sum())
    return torch.where(counts > 0, len(items) / (present * counts.clamp(min=1)), torch.zeros_like(counts))


def composer_model(model, tokenizer, class_weights: Optional[torch.Tensor] = None):
    """HuggingFaceModel; with class weights, its loss is the weighted cross-entropy of the logits."""
    from composer.models import HuggingFaceModel

    class WeightedLoss(HuggingFaceModel):
        def loss(self, outputs, batch):
            logits = outputs["logits"]
            return torch.nn.functional.cross_entropy(logits, batch["labels"], weight=class_weights.to(logits.device))

    return (WeightedLoss if class_weights is not None else HuggingFaceModel)(model, tokenizer, use_logits=True)


# ---- training -------------------------------------------------------------------------------------------------

def train_model(model, tokenizer, items: list[dict], kind: str, cfg: FinetuneConfig):
    """cfg.epochs over `items` with AdamW and linear warmup/decay, through composer.Trainer; returns the model."""
    from composer import Trainer
    from composer.optim import LinearWithWarmupScheduler

    torch_device = resolve_device(cfg.device)
    device = composer_device(torch_device)
    precision = resolve_precision(cfg.precision, torch_device)
    collate = Collator(tokenizer.pad_token_id, kind)
    if cfg.group_by_length:
        batches = LengthGroupedBatches([len(it["input_ids"]) for it in items], cfg.batch_size, cfg.seed)
        loader = torch.utils.data.DataLoader(items, batch_sampler=batches, collate_fn=collate)
    else:
        loader = torch.utils.data.DataLoader(items, batch_size=cfg.batch_size, shuffle=True, drop_last=False,
                                             collate_fn=collate, generator=torch.Generator().manual_seed(cfg.seed))
    optimizer = adamw(model, cfg.lr, cfg.weight_decay, device)
    weights = balanced_weights(items, model.config.num_labels) if cfg.balanced else None
    trainer = Trainer(
        model=composer_model(model, tokenizer, weights), train_dataloader=loader,
        max_duration=f"{cfg.epochs}ep", optimizers=optimizer,
        schedulers=LinearWithWarmupScheduler(t_warmup=f"{cfg.warmup}dur", alpha_f=0.0),
        step_schedulers_every_batch=True, device_train_microbatch_size=cfg.batch_size,  # batches come whole
        device=device, precision=precision, seed=cfg.seed,
        progress_bar=False, log_to_console=True, console_log_interval="1ep", loggers=[],  # a line per epoch
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
    from transformers import AutoTokenizer

    from docketbert.downstream.evaluation import evaluate_examples

    kind = task_kind(cfg.task)
    examples = load_task(cfg.train, cfg.task)
    if cfg.eval:
        train, held, split = examples, load_task(cfg.eval, cfg.task), {"eval_file": cfg.eval}
    else:
        train, held, split = split_by_case(examples, cfg.seed, cfg.eval_fraction)
    source = resolve_model_source(cfg.init, cfg.run_root)
    tokenizer = AutoTokenizer.from_pretrained(cfg.tokenizer or source)
    # Split mode: every label of the file (a rare class may sit only in held-out cases); --eval: train's only.
    labels = label_names(kind, train if cfg.eval else train + held)
    model = build_model(kind, source, labels, cfg.from_scratch, cfg.attn_implementation, cfg.pooling)
    items = encode(train, tokenizer, kind, model.config.label2id, cfg.max_length)
    log.info("fine-tuning %s on %d rows (%d held out), %d labels, init %s", cfg.task, len(train), len(held),
             len(labels), source)
    model = train_model(model, tokenizer, items, kind, cfg)

    out = Path(cfg.output)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    metrics = evaluate_examples(model, tokenizer, cfg.task, held, train if cfg.baselines else None,
                                max_length=cfg.max_length, baselines=cfg.baselines)
    info = {"config": asdict(cfg), "init_source": source, "init_kind": describe_init(cfg, source),
            "num_params": sum(p.numel() for p in model.parameters()), "split": split,
            "n_train": len(train), "n_eval": len(held)}
    (out / "docketbert_finetune.json").write_text(json.dumps(info, indent=2) + "\n")
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    return metrics


def parse_args(argv: list[str]) -> tuple[Optional[str], dict[str, Any]]:
    p = argparse.ArgumentParser(prog="python -m docketbert.finetune", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("yaml", nargs="?", help="a yamls/finetune/*.yaml (flags given override it)")
    p.add_argument("--task", choices=["entry_type", "multilabel", "citations"])
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
    p.add_argument("--pooling", choices=["cls", "mean"], help="classification head input (default: the init's "
                   "classifier_pooling)")
    p.add_argument("--balanced", action="store_true", default=None,
                   help="entry_type: weigh each class equally in the loss (what macro-F1 rewards)")
    p.add_argument("--no-group-by-length", dest="group_by_length", action="store_false", default=None,
                   help="plain shuffled batches (default: batches of similar lengths, in random order)")
    p.add_argument("--no-baselines", dest="baselines", action="store_false", default=None)
    args = vars(p.parse_args(argv))
    return args.pop("yaml"), args


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    yaml_path, overrides = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        cfg = load_config(yaml_path, overrides)
        metrics = run(cfg)
    except (ValueError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(json.dumps({k: v for k, v in metrics.items() if k != "per_class"}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
