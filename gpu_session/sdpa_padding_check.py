"""Do padded batches through HF ModernBERT + sdpa give NaN, and with which sdpa kernel? And do this project's masks
(a padding query attends to itself: docketbert.model.packed_attention.install_padding_safe_masks) avoid it?

A padding position of a short entry in a long batch can have only padding inside its sliding window, so its row of the
attention mask is empty, and kernels differ on an empty row (what each kernel gave on a GPU: BENCHMARKS.md, "Do the
reference recipe's padded batches train"). Prints one JSON object: for each kernel, in fp32 and (on a GPU) under bf16
autocast, whether the loss, the hidden states and the gradients of one padded batch are finite, with HF's masks and with
this project's.

    python gpu_session/sdpa_padding_check.py [--device cuda] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from transformers import ModernBertConfig, ModernBertForMaskedLM

from docketbert.model.packed_attention import install_padding_safe_masks

KERNELS = {
    "default": None,
    "math": SDPBackend.MATH,
    "efficient": SDPBackend.EFFICIENT_ATTENTION,
    "cudnn": SDPBackend.CUDNN_ATTENTION,
    "flash": SDPBackend.FLASH_ATTENTION,
}


def padded_batch(device, vocab=512, width=320, short=20):
    """Two rows: one full, one of `short` real tokens (its last padding positions see only padding locally)."""
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(5, vocab, (2, width), generator=g)
    mask = torch.ones_like(ids)
    ids[1, short:], mask[1, short:] = 0, 0
    labels = torch.full_like(ids, -100)
    labels[:, 1:short:3] = ids[:, 1:short:3]
    return {k: v.to(device) for k, v in {"input_ids": ids, "attention_mask": mask, "labels": labels}.items()}


def check(device: torch.device, bf16: bool) -> dict:
    config = ModernBertConfig(
        vocab_size=512,
        hidden_size=128,
        num_hidden_layers=4,
        num_attention_heads=2,
        intermediate_size=256,
        global_attn_every_n_layers=2,
        pad_token_id=0,
        cls_token_id=1,
        sep_token_id=2,
        bos_token_id=1,
        eos_token_id=2,
    )
    config._attn_implementation = "sdpa"
    batch = padded_batch(device)
    out = {}
    for name, kernel in KERNELS.items():
        torch.manual_seed(0)
        model = ModernBertForMaskedLM(config).to(device)
        try:
            with (
                sdpa_kernel([kernel]) if kernel else torch.enable_grad(),
                torch.autocast(device.type, torch.bfloat16, enabled=bf16),
            ):
                hf = model(**batch, output_hidden_states=True)
                hf.loss.backward()
                torch.manual_seed(0)  # the same weights with this project's padding-safe masks
                safe = install_padding_safe_masks(ModernBertForMaskedLM(config).to(device))
                ours = safe(**batch).loss
                ours.backward()
            out[name] = {
                "hf_loss_finite": bool(torch.isfinite(hf.loss)),
                "hf_nan_hidden_layers": [i for i, h in enumerate(hf.hidden_states) if h.isnan().any()],
                "hf_grad_finite": all(
                    bool(torch.isfinite(p.grad).all()) for p in model.parameters() if p.grad is not None
                ),
                "docketbert_loss_finite": bool(torch.isfinite(ours)),
                "docketbert_grad_finite": all(
                    bool(torch.isfinite(p.grad).all()) for p in safe.parameters() if p.grad is not None
                ),
                "loss_difference": abs(float(hf.loss.detach()) - float(ours.detach())),
            }
        except Exception as err:  # noqa: BLE001 - a kernel that refuses these inputs is reported, not fatal
            out[name] = {"error": f"{type(err).__name__}: {err}"[:200]}
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--json", help="also write the result here")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    report = {
        "device": torch.cuda.get_device_name() if device.type == "cuda" else "cpu",
        "torch": torch.__version__,
        "fp32": check(device, bf16=False),
    }
    if device.type == "cuda":
        report["bf16_autocast"] = check(device, bf16=True)
    print(json.dumps(report))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
