"""Packing on the entry corpus (real or generated): tight rows, no entry split or lost, unchanged masking, equal
per-entry logits, and a packed training run that learns as well as an unpacked one."""

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
from tiny_models import WINDOWED_CONFIG
from transformers import ModernBertConfig, ModernBertForMaskedLM

from docketbert.config import load_config
from docketbert.core.batching import IGNORE_INDEX
from docketbert.core.tokenizer import load_tokenizer
from docketbert.data.mds import open_split
from docketbert.data.mlm import MLMCollator, labelled_positions
from docketbert.data.packing import (
    PackedMLMCollator,
    PackedRows,
    best_fit_decreasing,
    packed_batch_rows,
    split_packed_batch,
)
from docketbert.model.masked_lm import MaskedLMModel
from docketbert.training.auto_settings import (
    packed_attn_implementation,
    resolve_compile,
    resolve_packing,
)
from docketbert.training.trainer import build_trainer

TINY = Path(__file__).resolve().parents[2] / "yamls" / "tiny.yaml"
WIDTH = 256


def test_best_fit_decreasing_keeps_every_item_whole():
    lengths = [200, 10, 56, 120, 130, 5, 250, 6, 1, 100]
    rows = best_fit_decreasing(lengths, 256)
    assert sorted(i for row in rows for i in row) == list(range(len(lengths)))
    assert all(sum(lengths[i] for i in row) <= 256 for row in rows)
    assert len(rows) == 4  # 878 tokens: the fewest rows possible (250+6, 200+56, 130+120+5+1, 100+10)
    with pytest.raises(ValueError, match="cannot be packed"):
        best_fit_decreasing([257], 256)


def test_packing_options():
    assert resolve_packing("auto", "gpu") is True and resolve_packing("auto", "cpu") is False
    assert resolve_packing(True, "cpu") is True
    with pytest.raises(ValueError, match="true, false or auto"):
        resolve_packing("yes", "cpu")
    assert resolve_compile("auto", packed_flex_gpu=True) is True and resolve_compile("auto", False) is False
    assert resolve_compile(True, False) is True and resolve_compile(False, True) is False
    with pytest.raises(ValueError, match="model.compile must be true, false or auto"):
        resolve_compile("sometimes", False)
    assert packed_attn_implementation("auto", "sdpa", "gpu") == "flex_attention"
    assert packed_attn_implementation("auto", "sdpa", "cpu") == "sdpa"
    assert packed_attn_implementation("sdpa", "sdpa", "gpu") == "sdpa"
    with pytest.raises(ValueError, match="flash_attention_2"):
        packed_attn_implementation("flash_attention_2", "flash_attention_2", "gpu")


def padded(arrays, width, pad_id):
    out = torch.full((len(arrays), width), pad_id, dtype=torch.long)
    for r, ids in enumerate(arrays):
        out[r, : len(ids)] = torch.from_numpy(np.asarray(ids, dtype=np.int64))
    return out


def masking_stats(batches, mask_id):
    picked = masked = kept = maskable = 0
    for batch, original in batches:
        labels, ids = batch["labels"], batch["input_ids"]
        on = labels != IGNORE_INDEX
        picked += int(on.sum())
        masked += int((ids[on] == mask_id).sum())
        kept += int((ids[on] == labels[on]).sum())
        maskable += original
    return picked / maskable, masked / picked, kept / picked, 1 - (masked + kept) / picked


@pytest.mark.integration
def test_real_corpus_packs_tightly_whole_and_masks_alike(mds_dir, tokenizer_dir):
    tokenizer = load_tokenizer(str(tokenizer_dir))
    base = MLMCollator.for_tokenizer(tokenizer, max_seq_len=WIDTH)
    special = torch.tensor(base.special_ids)
    dataset = open_split(str(mds_dir), "train", batch_size=8, shuffle=True)
    entries = [tuple(np.asarray(s["input_ids"], dtype=np.int64).tolist()) for s in dataset]
    rows = list(PackedRows(dataset, WIDTH, base.sep_id, buffer_size=2048))

    packed = [tuple(e.tolist()) for row in rows for e in row]
    assert Counter(packed) == Counter(entries)  # the same entries, each whole, none lost or repeated
    real = sum(len(e) for e in packed)
    padding = 1 - real / (len(rows) * WIDTH)
    assert padding <= 0.02, padding

    torch.manual_seed(0)
    collate = PackedMLMCollator(base, WIDTH)
    packed_batches, plain_batches = [], []
    for start in range(0, len(rows), 16):
        chunk = [np.concatenate(r) for r in rows[start : start + 16]]
        batch, original = collate(rows[start : start + 16]), padded(chunk, WIDTH, base.pad_id)
        assert torch.equal(batch["attention_mask"].bool(), batch["segments"] >= 0)
        assert (batch["labels"][batch["attention_mask"] == 0] == IGNORE_INDEX).all()
        on = batch["labels"] != IGNORE_INDEX
        assert torch.equal(batch["labels"][on], original[on]) and not torch.isin(original[on], special).any()
        packed_batches.append((batch, int(((original != base.pad_id) & ~torch.isin(original, special)).sum())))
    for start in range(0, len(entries), 64):
        chunk = [np.array(e) for e in entries[start : start + 64]]
        batch, original = base([{"input_ids": e} for e in chunk]), padded(chunk, WIDTH, base.pad_id)
        plain_batches.append((batch, int(((original != base.pad_id) & ~torch.isin(original, special)).sum())))
    got, want = masking_stats(packed_batches, base.mask_id), masking_stats(plain_batches, base.mask_id)
    for value, target in zip(got, (0.3, 0.8, 0.1, 0.1)):
        assert abs(value - target) < 0.01, (got, want)
    assert all(abs(a - b) < 0.01 for a, b in zip(got, want)), (got, want)


# Window of 2 * 4 + 1 tokens, so entries cross it; layers 0 and 3 global, 1-2 local.
CONFIG = WINDOWED_CONFIG


@pytest.mark.parametrize("implementation", ["sdpa", "eager"])
def test_packed_mlm_logits_equal_hf_per_entry(implementation):
    torch.manual_seed(0)
    config = ModernBertConfig(**CONFIG)
    config._attn_implementation = implementation
    hf = ModernBertForMaskedLM(config).eval()
    assert config.layer_types == ["full_attention", "sliding_attention", "sliding_attention", "full_attention"]
    model = MaskedLMModel(hf)
    lengths = [[5, 20, 3], [37], [1, 2, 11]]
    entries = [[torch.randint(5, 128, (n,)) for n in row] for row in lengths]
    rows = [[e.numpy() for e in row] for row in entries]
    base = MLMCollator(pad_id=0, mask_id=4, sep_id=3, special_ids=(0, 1, 2, 3, 4), vocab_size=128, mlm_probability=1.0)
    batch = PackedMLMCollator(base, 40)(rows)
    batch["input_ids"] = torch.zeros_like(batch["input_ids"])  # unmasked: compare on the original tokens
    batch["labels"] = torch.full_like(batch["labels"], IGNORE_INDEX)
    for r, row in enumerate(entries):
        flat = torch.cat(row)
        batch["input_ids"][r, : len(flat)] = flat
        batch["labels"][r, : len(flat)] = flat
    batch["mlm_positions"], batch["mlm_labels"] = labelled_positions(batch["labels"])
    with torch.no_grad():
        expected = torch.cat([hf(input_ids=e[None]).logits[0] for row in entries for e in row])
        listed = model(batch)  # the collator's list of positions, padded to a multiple of 8 with ignored labels
        kept = listed["labels"] != IGNORE_INDEX
        assert listed["logits"].shape[0] == 80 and torch.equal(
            listed["labels"][kept],
            torch.cat(  # 28 + 37 + 14
                [e for row in entries for e in row]
            ),
        )
        boolean = model({k: v for k, v in batch.items() if not k.startswith("mlm_")})  # the device picks them
        for name, logits in [("listed", listed["logits"][kept]), ("boolean", boolean["logits"])]:
            assert logits.shape == expected.shape, name
            assert torch.allclose(logits, expected, atol=1e-5), (name, (logits - expected).abs().max())


def test_listed_positions_give_the_boolean_loss_and_gradients():
    """The packed collator's `mlm_positions`/`mlm_labels` give MaskedLMModel the loss and gradients of boolean
    indexing, whole and in Composer's micro-batches (`split_packed_batch` lists each piece's own positions), and a
    micro-batch with no label gives a zero loss that keeps the graph."""
    torch.manual_seed(0)
    config = ModernBertConfig(**CONFIG)
    config._attn_implementation = "sdpa"
    model = MaskedLMModel(ModernBertForMaskedLM(config))
    base = MLMCollator(pad_id=0, mask_id=4, sep_id=3, special_ids=(0, 1, 2, 3, 4), vocab_size=128)
    rows = [
        [np.random.default_rng(r).integers(5, 128, n) for n in row]
        for r, row in enumerate([[5, 20, 3], [37], [1, 2, 11], [30, 9]])
    ]
    batch = PackedMLMCollator(base, 40)(rows)
    picked = (batch["labels"] != IGNORE_INDEX).flatten()
    count = int(picked.sum())
    assert batch["mlm_positions"].shape == batch["mlm_labels"].shape == (-(-count // 8) * 8,)
    assert torch.equal(batch["mlm_positions"][:count], picked.nonzero().flatten())  # row-major, like boolean indexing
    assert torch.equal(batch["mlm_labels"][:count], batch["labels"].flatten()[picked])
    assert (batch["mlm_labels"][count:] == IGNORE_INDEX).all()

    def loss_and_grads(b):
        model.zero_grad()
        loss = model.loss(model(b), b)
        loss.backward()
        return loss.detach(), [p.grad.clone() for p in model.parameters() if p.grad is not None]

    assert packed_batch_rows(batch) == 4
    for size in (4, 3, 2):
        pieces = split_packed_batch(batch, size)
        assert [packed_batch_rows(p) for p in pieces] == [size, 4 - size][: 1 + (size < 4)]
        for start, piece in zip(range(0, 4, size), pieces):
            boolean = {k: v[start : start + size] for k, v in batch.items() if not k.startswith("mlm_")}
            listed_loss, listed_grads = loss_and_grads(piece)
            bool_loss, bool_grads = loss_and_grads(boolean)
            assert torch.allclose(listed_loss, bool_loss, atol=1e-6), (size, start, listed_loss, bool_loss)
            assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(listed_grads, bool_grads))
    unlabelled = dict(batch, mlm_labels=torch.full_like(batch["mlm_labels"], IGNORE_INDEX))
    loss = model.loss(model(unlabelled), unlabelled)
    assert loss.item() == 0.0 and loss.requires_grad


def tiny_overrides(mds_dir, tokenizer_dir, run_root, **extra):
    values = {
        "tokenizer": tokenizer_dir,
        "data.path": mds_dir,
        "run_root": run_root,
        "loggers.progress_bar": False,
        "data.eval_subset_num_batches": 4,
        "save_interval": "1000ba",
        **extra,
    }
    return [f"{k}={v}" for k, v in values.items()]


@pytest.mark.integration
def test_packed_run_with_micro_batches(mds_dir, tokenizer_dir, tmp_path):
    """Packed batches split into micro-batches by Composer (`split_packed_batch`: 4 rows in pieces of 3 and 1, each
    with its own MLM positions) train with a finite loss and count real tokens."""
    cfg = load_config(
        [TINY],
        tiny_overrides(
            mds_dir,
            tokenizer_dir,
            tmp_path,
            run_name="micro",
            max_duration="3ba",
            eval_interval="1000ba",
            global_train_batch_size=4,
            device_train_microbatch_size=3,
            **{"data.packing": True},
        ),
    )
    trainer = build_trainer(cfg)
    trainer.fit()
    loss = trainer.state.loss
    assert torch.isfinite(loss["total"] if isinstance(loss, dict) else loss)
    tokens = int(trainer.state.timestamp.token)
    assert 0.95 * 3 * 4 * 256 <= tokens <= 3 * 4 * 256, tokens  # real tokens of 3 steps of 4 packed rows
    trainer.close()


@pytest.mark.slow
def test_packed_run_learns_like_unpacked(mds_dir, tokenizer_dir, tmp_path):
    """Same real tokens (60k), about the same tokens per step (16 entries ~ 5 rows of 256): the same eval loss
    within noise, on the same unpacked, fixed-mask eval batches. (~4 min on 2 shared CPU cores.)"""
    losses = {}
    for packing, rows in ((False, 16), (True, 5)):
        cfg = load_config(
            [TINY],
            tiny_overrides(
                mds_dir,
                tokenizer_dir,
                tmp_path,
                run_name=f"packing-{packing}",
                max_duration="60000tok",
                eval_interval="1dur",
                global_train_batch_size=rows,
                device_train_microbatch_size=rows,
                **{"data.packing": packing},
            ),
        )
        trainer = build_trainer(cfg)
        trainer.fit()
        run_dir = tmp_path / f"packing-{packing}"
        metrics = json.loads((run_dir / "metrics.json").read_text())
        info = json.loads((run_dir / "run_info.json").read_text())
        assert info["packing"] is packing
        assert 60000 <= metrics["tokens"] < 60000 + rows * 256  # real tokens, not row capacity
        losses[packing] = metrics["eval_loss"]
        if packing:  # the export is plain HF ModernBERT
            from transformers import AutoModelForMaskedLM

            exported = AutoModelForMaskedLM.from_pretrained(run_dir / "hf").eval()
            ids = torch.tensor([[1, 50, 60, 70, 2]])
            with torch.no_grad():
                assert torch.allclose(
                    trainer.state.model.model.eval()(input_ids=ids).logits, exported(input_ids=ids).logits, atol=1e-5
                )
        trainer.close()
    assert losses[True] < 6.5 and losses[False] < 6.5, losses  # both learned (ln 2048 = 7.6 at the start)
    assert abs(losses[True] - losses[False]) < 0.15, losses


def test_keyed_masks_follow_the_entry_not_the_batch():
    """An entry's masks are a function of (seed, epoch, sample id): the same in any batch, at any position, packed
    or not, and different in another epoch or with another seed (no generator state, so workers and resumption
    cannot change them)."""
    from docketbert.data.packing import PackedRow

    base = MLMCollator(pad_id=0, mask_id=4, sep_id=3, special_ids=(0, 1, 2, 3, 4), vocab_size=128, mlm_probability=0.5)
    rng = np.random.default_rng(0)
    entries = [rng.integers(5, 128, n) for n in (30, 17, 25)]
    samples = [{"input_ids": e, "sample_id": 100 + i, "epoch": 0} for i, e in enumerate(entries)]
    forward = base(samples)
    backward = base(samples[::-1])
    for i in range(3):
        n = len(entries[i])
        assert torch.equal(forward["input_ids"][i, :n], backward["input_ids"][2 - i, :n])
        assert torch.equal(forward["labels"][i, :n], backward["labels"][2 - i, :n])
    row = PackedRow(entries[1:], [(101, 0), (102, 0)])
    packed = PackedMLMCollator(base, 48)([row])
    assert torch.equal(packed["input_ids"][0, :17], forward["input_ids"][1, :17])
    assert torch.equal(packed["input_ids"][0, 17:42], forward["input_ids"][2, :25])
    assert torch.equal(packed["labels"][0, 17:42], forward["labels"][2, :25])
    later = base([{**s, "epoch": 1} for s in samples])
    assert not torch.equal(later["labels"], forward["labels"])
    other_seed = MLMCollator(**{**base.__dict__, "seed": 18})(samples)
    assert not torch.equal(other_seed["labels"], forward["labels"])
    eval_masks = MLMCollator(**{**base.__dict__, "deterministic": True})
    assert torch.equal(eval_masks(samples)["labels"], eval_masks([{**s, "epoch": 5} for s in samples])["labels"])
