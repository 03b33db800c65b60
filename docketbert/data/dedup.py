"""A memory-bounded set of 64-bit hashes for exact deduplication of tens of millions of entries.

`HashSet64` is an open-addressing (linear probing) hash table in one numpy uint64 array: about 16 bytes
per key (the table doubles when half full), against ~70 bytes per key for a Python set of ints. Inserts
and lookups are vectorised over whole batches; within a batch the first occurrence of a key wins.
"""

from __future__ import annotations

from collections.abc import Iterable
from hashlib import blake2b

import numpy as np

_EMPTY = np.uint64(0)  # marks a free slot; a real key 0 is stored as 1 (see `hash64`)


def hash64(texts: Iterable[str]) -> np.ndarray:
    """blake2b-64 of each text (UTF-8) as a uint64 array; never 0 (the table's empty marker)."""
    digest = b"".join(blake2b(t.encode("utf-8", "surrogatepass"), digest_size=8).digest() for t in texts)
    keys = np.frombuffer(digest, dtype="<u8").astype(np.uint64)
    keys[keys == _EMPTY] = 1
    return keys


class HashSet64:
    """A set of non-zero uint64 keys. `add(keys)` inserts a batch and says which keys were new."""

    def __init__(self, capacity: int = 1 << 16):
        cap = 1 << max(4, int(capacity - 1).bit_length())
        self._table = np.zeros(cap, dtype=np.uint64)
        self._size = 0

    def __len__(self) -> int:
        return self._size

    @property
    def capacity(self) -> int:
        return len(self._table)

    @property
    def nbytes(self) -> int:
        return self._table.nbytes

    def keys(self) -> np.ndarray:
        return self._table[self._table != _EMPTY].copy()

    def __contains__(self, key: int) -> bool:
        return bool(self.contains(np.array([key], dtype=np.uint64))[0])

    def contains(self, keys: np.ndarray) -> np.ndarray:
        """A bool mask: which of `keys` are in the set."""
        keys = np.asarray(keys, dtype=np.uint64)
        mask = np.uint64(len(self._table) - 1)
        slots = keys & mask
        result = np.zeros(len(keys), dtype=bool)
        pending = np.arange(len(keys))
        while pending.size:
            cur = self._table[slots[pending]]
            found = cur == keys[pending]
            result[pending[found]] = True
            pending = pending[~found & (cur != _EMPTY)]
            slots[pending] = (slots[pending] + np.uint64(1)) & mask
        return result

    def add(self, keys: np.ndarray) -> np.ndarray:
        """Insert `keys` (non-zero uint64); return a bool mask of the keys that were new: not in the set
        before and not an earlier duplicate within this batch."""
        keys = np.asarray(keys, dtype=np.uint64)
        if keys.size and not keys.all():
            raise ValueError("HashSet64 keys must be non-zero")
        uniq, first = np.unique(keys, return_index=True)
        while 2 * (self._size + len(uniq)) > len(self._table):
            self._grow()
        inserted = self._insert_distinct(uniq)
        new = np.zeros(len(keys), dtype=bool)
        new[first[inserted]] = True
        return new

    def _insert_distinct(self, keys: np.ndarray) -> np.ndarray:
        """Insert pairwise-distinct keys (the table has room); True where a key was inserted."""
        table = self._table
        mask = np.uint64(len(table) - 1)
        slots = keys & mask
        inserted = np.zeros(len(keys), dtype=bool)
        pending = np.arange(len(keys))
        while pending.size:
            s = slots[pending]
            cur = table[s]
            found = cur == keys[pending]
            empty = cur == _EMPTY
            # Several pending keys may claim the same free slot: the last write wins, the others probe on.
            table[s[empty]] = keys[pending[empty]]
            won = np.zeros(len(pending), dtype=bool)
            won[empty] = table[s[empty]] == keys[pending[empty]]
            inserted[pending[won]] = True
            pending = pending[~(found | won)]
            slots[pending] = (slots[pending] + np.uint64(1)) & mask
        self._size += int(inserted.sum())
        return inserted

    def _grow(self) -> None:
        old = self.keys()
        self._table = np.zeros(2 * len(self._table), dtype=np.uint64)
        self._size = 0
        self._insert_distinct(old)
