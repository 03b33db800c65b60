"""The 64-bit hash set used for deduplication, checked against a Python set."""

from __future__ import annotations

import numpy as np
import pytest

from docketbert.data.dedup import HashSet64, hash64


def test_hash_set_matches_python_set_with_growth():
    rng = np.random.default_rng(0)
    table = HashSet64(capacity=16)
    reference: set[int] = set()
    pool = rng.integers(1, 2**64 - 1, size=30_000, dtype=np.uint64)  # draw from a pool: many repeats
    for _ in range(40):
        keys = rng.choice(pool, size=rng.integers(0, 3000))
        new = table.add(keys)
        expected = []
        for k in keys.tolist():
            expected.append(k not in reference)
            reference.add(k)
        assert new.tolist() == expected  # first occurrence wins, within a batch and across batches
        assert len(table) == len(reference)
    assert table.capacity >= 2 * len(reference)  # stays at most half full
    assert table.nbytes <= 8 * 4 * len(reference)  # bounded: at most 32 bytes a key right after doubling
    assert sorted(table.keys().tolist()) == sorted(reference)
    probe = np.concatenate([pool[:500], rng.integers(1, 2**64 - 1, size=500, dtype=np.uint64)])
    assert table.contains(probe).tolist() == [int(k) in reference for k in probe]
    assert int(pool[0]) in table or int(pool[0]) not in reference


def test_clustered_keys_and_zero_rejected():
    table = HashSet64(capacity=16)
    keys = np.arange(1, 5000, dtype=np.uint64) * np.uint64(1 << 20)  # all land in slot 0 of a small table
    assert table.add(keys).all()
    assert not table.add(keys).any()
    assert len(table) == len(keys)
    with pytest.raises(ValueError):
        table.add(np.array([0], dtype=np.uint64))


def test_hash64_is_stable_and_nonzero():
    keys = hash64(["a", "b", "a"])
    assert keys.dtype == np.uint64 and keys[0] == keys[2] != keys[1]
    assert (keys != 0).all()
    assert hash64(["a"])[0] == hash64(["a"])[0]
