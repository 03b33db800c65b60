"""glibc malloc tuning for CPU inference (docketbert.core.cpu_memory): a large block comes from the heap and stays there
when freed, and the unpadded forward runs without page faults once warm. Checked in fresh processes through
glibc's own counters (mallinfo2) and getrusage, not timed.

Only the tuned side is asserted: with glibc's defaults the outcome depends on the process's allocation history
(the mmap threshold adapts to blocks freed earlier), so the same 20 untuned passes took from ~350 faults (after
the 16 MB block below had raised the threshold) to ~90,000 (without it)."""

import json
import os
import subprocess
import sys

import pytest

PROBE = """
import ctypes, json, random, resource, sys, torch
from docketbert.core.cpu_memory import keep_freed_memory, tuned
state = keep_freed_memory()

class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                      "fsmblks", "uordblks", "fordblks", "keepcost")]
libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = MallInfo2
before = libc.mallinfo2()
block = torch.empty(4 << 20)  # 16 MB
allocated = libc.mallinfo2()
del block
freed = libc.mallinfo2()
out = {"state": state, "tuned": tuned(), "mmapped_mb": (allocated.hblkhd - before.hblkhd) / 2**20,
       "heap_kept_mb": (freed.arena - before.arena) / 2**20}
if "forward" in sys.argv:
    from transformers import ModernBertConfig, ModernBertModel
    from docketbert.model.unpadded import UnpaddedEncoder
    torch.set_num_threads(1)
    torch.manual_seed(0)
    config = ModernBertConfig(vocab_size=300, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                              intermediate_size=64, local_attention=128, pad_token_id=0, bos_token_id=1,
                              eos_token_id=2, cls_token_id=1, sep_token_id=2, attn_implementation="sdpa")
    encoder = UnpaddedEncoder(ModernBertModel(config).eval())
    rng = random.Random(0)
    rows = [[1] + [rng.randrange(5, 300) for _ in range(n - 2)] + [2] for n in (290, 280, 270, 260, 250, 250, 245)]
    encoder(rows, "mean")  # warm: the heap reaches its peak
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(20):
        encoder(rows, "mean")
    out["forward_faults"] = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
print(json.dumps(out))
"""


def probe(tuning: str, *args: str) -> dict:
    env = dict(os.environ, DOCKETBERT_MALLOC_TUNING=tuning)
    out = subprocess.run([sys.executable, "-c", PROBE, *args], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.integration
@pytest.mark.skipif(
    not sys.platform.startswith("linux") or os.confstr("CS_GNU_LIBC_VERSION") is None, reason="glibc only"
)
def test_tuned_heap_keeps_large_blocks_and_warm_passes_take_no_page_faults():
    on = probe("1", "forward")
    assert on["state"] is True and on["tuned"] is True
    assert on["mmapped_mb"] == 0 and on["heap_kept_mb"] >= 12  # from the heap (part of it free before), kept
    # 20 passes over a 7 x 290-token batch: 350-600 faults measured tuned
    assert on["forward_faults"] < 2_000
    off = probe("0")
    assert off["state"] is False and off["tuned"] is False
