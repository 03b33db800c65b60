"""`callbacks: {distillation: {teacher: ..., temperature: 2.0, alpha_ce: 0.5, alpha_kl: 0.5, positions: masked}}`.

Loss = alpha_ce * CE + alpha_kl * T^2 * KL(softmax(teacher / T) || softmax(student / T)), "batchmean" over the
positions used: `masked` (the labelled positions, default), `tokens` (every real token) or `all` (every position,
padding included: the reference's choice).

The teacher (an HF name, a directory or an earlier run's name, resolved to its export) is loaded once, frozen, in
eval mode, in bf16 on a GPU; it is not a submodule of the trained model, so it is in neither the optimizer nor the
checkpoints (this callback's state_dict is empty). At Event.AFTER_LOSS, which Composer runs per micro-batch
(`state.batch` and `state.outputs` are the micro-batch's) right before the backward of `state.loss`, the loss is
replaced by a dict {ce, kl, total}: Composer backpropagates `total` and logs each as `loss/train/<key>`, summed
over micro-batches with their size weights.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from composer.core import Callback, State
from composer.core.precision import get_precision_context
from composer.loggers import Logger
from transformers import AutoTokenizer, ModernBertForMaskedLM, PreTrainedTokenizerBase

from docketbert.config import ConfigError
from docketbert.core.batching import IGNORE_INDEX
from docketbert.core.tokenizer import tokenizer_fault
from docketbert.model.build import resolve_attn_implementation, resolve_model_source
from docketbert.model.modernbert import encoder_of, mlm_logits
from docketbert.model.weights import UnsafeWeightsError, load_pretrained
from docketbert.registry import register_callback
from docketbert.training.auto_settings import resolve_packing

log = logging.getLogger(__name__)

POSITIONS = ("masked", "tokens", "all")


def kl_term(student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """T^2 * KL(teacher_T || student_T), summed over the vocabulary and averaged over rows (batchmean)."""
    rows = student_logits.shape[0]
    if rows == 0:
        return student_logits.sum() * 0.0
    student = F.log_softmax(student_logits.float() / temperature, dim=-1)
    teacher = F.log_softmax(teacher_logits.float() / temperature, dim=-1)
    return F.kl_div(student, teacher, log_target=True, reduction="sum") / rows * temperature**2


def check_same_tokenizer(teacher_dir: str, tokenizer: PreTrainedTokenizerBase | None) -> None:
    """A teacher that ships a tokenizer must have the run's vocabulary (same tokens, same ids)."""
    if tokenizer is None or not Path(teacher_dir).is_dir():
        return
    if not any((Path(teacher_dir) / f).exists() for f in ("tokenizer.json", "tokenizer_config.json")):
        return
    fault = tokenizer_fault(teacher_dir)
    if fault:
        raise ConfigError(f"distillation teacher {teacher_dir!r}: {fault}")
    theirs = AutoTokenizer.from_pretrained(teacher_dir)
    if theirs.get_vocab() != tokenizer.get_vocab():
        raise ConfigError(
            f"distillation teacher {teacher_dir!r} has a different tokenizer ({len(theirs)} tokens) "
            f"than the run ({len(tokenizer)} tokens): teacher and student must share the vocabulary"
        )


class Distillation(Callback):
    def __init__(
        self,
        teacher: ModernBertForMaskedLM,
        temperature: float = 2.0,
        alpha_ce: float = 0.5,
        alpha_kl: float = 0.5,
        positions: str = "masked",
        name: str = "teacher",
    ):
        if positions not in POSITIONS:
            raise ConfigError(f"callbacks.distillation.positions {positions!r} is not one of {POSITIONS}")
        if temperature <= 0 or alpha_ce < 0 or alpha_kl < 0:
            raise ConfigError("callbacks.distillation: temperature must be > 0 and the alphas >= 0")
        for param in teacher.parameters():
            param.requires_grad_(False)
        # A one-element list hides the teacher from any module/state traversal (it is not a submodule of anything).
        self._teacher = [teacher.eval()]
        self.temperature, self.alpha_ce, self.alpha_kl, self.positions = temperature, alpha_ce, alpha_kl, positions
        self.name = name

    @property
    def teacher(self) -> ModernBertForMaskedLM:
        return self._teacher[0]

    def init(self, state: State, logger: Logger) -> None:
        student = state.model.model  # the HF model inside Composer's wrapper
        if student.config.vocab_size != self.teacher.config.vocab_size:
            raise ConfigError(
                f"distillation teacher {self.name!r} has a vocabulary of "
                f"{self.teacher.config.vocab_size} but the student has {student.config.vocab_size}: "
                "teacher and student must share the tokenizer and vocabulary"
            )
        on_gpu = state.device.name == "gpu"
        teacher = state.device.module_to_device(self.teacher)
        self._teacher = [teacher.to(torch.bfloat16) if on_gpu else teacher]
        logger.log_hyperparameters(
            {
                "distillation/teacher": self.name,
                "distillation/temperature": self.temperature,
                "distillation/alpha_ce": self.alpha_ce,
                "distillation/alpha_kl": self.alpha_kl,
                "distillation/positions": self.positions,
            }
        )

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        pass

    def picked(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Boolean [batch, length]: the positions the KL term averages over."""
        if self.positions == "masked":
            return batch["labels"] != IGNORE_INDEX
        if self.positions == "tokens":
            return batch["attention_mask"].bool()
        return torch.ones_like(batch["labels"], dtype=torch.bool)

    def losses(
        self,
        student: Any,
        outputs: dict[str, torch.Tensor],
        batch: dict[str, torch.Tensor],
        ce: torch.Tensor,
        precision: Any = "fp32",
    ) -> dict[str, torch.Tensor]:
        """{ce, kl, total} for one micro-batch; `student` is the MaskedLMModel, `outputs` its forward's."""
        picked = self.picked(batch)
        with torch.no_grad(), get_precision_context(precision):
            hidden = encoder_of(self.teacher)(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])[0]
            teacher_logits = mlm_logits(self.teacher, hidden[picked])
        if self.positions == "masked":
            student_logits = outputs["logits"]  # the student's head already ran at exactly these positions
        else:
            with get_precision_context(precision):
                student_logits = mlm_logits(student.model, outputs["hidden"][picked])
        kl = kl_term(student_logits, teacher_logits, self.temperature)
        ce = ce.float()
        return {"ce": ce.detach(), "kl": kl.detach(), "total": self.alpha_ce * ce + self.alpha_kl * kl}

    def after_loss(self, state: State, logger: Logger) -> None:
        model = state.model.module if hasattr(state.model, "module") else state.model
        loss = state.loss["total"] if isinstance(state.loss, dict) else state.loss
        state.loss = self.losses(model, state.outputs, state.batch, loss, state.precision)


@register_callback("distillation")
def build_distillation(
    teacher: str,
    temperature: float = 2.0,
    alpha_ce: float = 0.5,
    alpha_kl: float = 0.5,
    positions: str = "masked",
    tokenizer: PreTrainedTokenizerBase | None = None,
    cfg: Any = None,
) -> Distillation:
    on_gpu = torch.cuda.is_available() and (cfg is None or cfg.device in ("auto", "gpu"))
    if cfg is not None and resolve_packing(cfg.data.packing, "gpu" if on_gpu else "cpu"):
        raise ConfigError(
            "callbacks.distillation does not support data.packing yet: the teacher runs on padded "
            "batches (set data.packing=false)"
        )
    run_root = cfg.run_root if cfg is not None else "runs"
    source = resolve_model_source(teacher, run_root)
    check_same_tokenizer(source, tokenizer)
    attn = resolve_attn_implementation(cfg.model.attn_implementation if cfg is not None else "auto", on_gpu)
    try:
        model = load_pretrained(ModernBertForMaskedLM, source, attn_implementation=attn)
    except UnsafeWeightsError as err:
        raise ConfigError(f"distillation teacher {teacher!r}: {err}") from None
    if tokenizer is not None and len(tokenizer) > model.config.vocab_size:
        raise ConfigError(
            f"distillation teacher {teacher!r} has a vocabulary of {model.config.vocab_size} but the "
            f"tokenizer has {len(tokenizer)} tokens: teacher and student must share the vocabulary"
        )
    log.info("distillation teacher %s loaded from %s", teacher, source)
    return Distillation(
        model, temperature=temperature, alpha_ce=alpha_ce, alpha_kl=alpha_kl, positions=positions, name=teacher
    )
