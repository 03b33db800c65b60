"""MLM batching: padding, truncation, honest token counts and the masking statistics."""

import numpy as np
import torch

from docketbert.core.batching import IGNORE_INDEX, flat_ids, pad_rows
from docketbert.data.mlm import MLMCollator, count_real_tokens, mask_tokens

PAD, MASK, CLS, SEP, VOCAB = 0, 1, 2, 3, 1000


def collator(**kwargs):
    return MLMCollator(
        pad_id=PAD, mask_id=MASK, sep_id=SEP, special_ids=(PAD, MASK, CLS, SEP), vocab_size=VOCAB, **kwargs
    )


def entry(n, start=10):
    return {"input_ids": np.array([CLS, *range(start, start + n), SEP], dtype=np.uint16)}


def test_pads_to_multiple_and_counts_real_tokens():
    batch = collator(mlm_probability=0.0)([entry(3), entry(10)])
    assert batch["input_ids"].shape == (2, 16)  # longest 12 -> 16
    assert batch["attention_mask"].sum(1).tolist() == [5, 12]
    assert count_real_tokens(batch) == 17
    assert (batch["input_ids"][0, 5:] == PAD).all()
    assert (batch["labels"] == IGNORE_INDEX).all()


def test_pad_rows_lists_and_arrays():
    """Rows as lists or uint16 arrays (MDS samples), an empty row, widths rounded up to a multiple."""
    rows = [[5, 6, 7], [], [8], [9, 10, 11, 12, 13]]
    want_ids = torch.tensor([[5, 6, 7, 0, 0, 0, 0, 0], [0] * 8, [8, 0, 0, 0, 0, 0, 0, 0], [9, 10, 11, 12, 13, 0, 0, 0]])
    for given in (rows, [np.array(r, dtype=np.uint16) for r in rows]):
        ids, mask = pad_rows(given, 0, multiple=4)
        assert ids.dtype == mask.dtype == torch.long
        assert torch.equal(ids, want_ids) and mask.sum(1).tolist() == [3, 0, 1, 5]
        assert flat_ids(given).tolist() == [5, 6, 7, 8, 9, 10, 11, 12, 13]
    ids, mask = pad_rows(rows, PAD)
    assert ids.shape == (4, 5) and (ids[mask == 0] == PAD).all()


def test_truncation_keeps_final_sep():
    batch = collator(mlm_probability=0.0, max_seq_len=8)([entry(20)])
    assert batch["input_ids"][0].tolist() == [CLS, 10, 11, 12, 13, 14, 15, SEP]


def test_masking_statistics():
    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(10, VOCAB, (400, 500), generator=generator)
    maskable = torch.ones_like(ids, dtype=torch.bool)
    maskable[:, 0] = False
    masked, labels = mask_tokens(ids, maskable, 0.3, MASK, VOCAB, generator)
    picked = labels != IGNORE_INDEX
    assert not picked[:, 0].any()
    assert abs(picked[:, 1:].float().mean().item() - 0.3) < 0.005
    assert torch.equal(labels[picked], ids[picked])
    as_mask = (masked == MASK) & picked
    unchanged = (masked == ids) & picked
    assert abs(as_mask.sum().item() / picked.sum().item() - 0.8) < 0.01
    assert abs(unchanged.sum().item() / picked.sum().item() - 0.1) < 0.01  # kept (random ids rarely collide)
    assert torch.equal(masked[~picked], ids[~picked])


def test_special_tokens_and_padding_never_masked():
    batch = collator(mlm_probability=1.0)([entry(3), entry(30)])
    labels, ids = batch["labels"], batch["input_ids"]
    assert (labels[:, 0] == IGNORE_INDEX).all()
    assert (labels[batch["attention_mask"] == 0] == IGNORE_INDEX).all()
    assert labels[0, 4] == IGNORE_INDEX  # the [SEP] of the short entry
    assert ((labels != IGNORE_INDEX).sum(1) == torch.tensor([3, 30])).all()
    assert (ids[batch["attention_mask"] == 0] == PAD).all()


def test_deterministic_collator_masks_the_same_way_every_time():
    samples = [entry(40), entry(25, start=100)]
    a, b = collator(deterministic=True)(samples), collator(deterministic=True)(samples)
    assert torch.equal(a["labels"], b["labels"]) and torch.equal(a["input_ids"], b["input_ids"])
    c = collator(deterministic=True)([entry(40, start=200), entry(25, start=100)])
    assert not torch.equal(a["labels"] != IGNORE_INDEX, c["labels"] != IGNORE_INDEX)
