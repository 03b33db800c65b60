"""glibc malloc tuning for CPU inference (docketbert.cpu_memory): the blocks every batch frees and allocates again
stay in the process, so the unpadded forward runs without page faults once warm. Counted with getrusage in fresh
processes (tuned and not), not timed."""

import os
import subprocess
import sys

import pytest

FORWARD = """
import random, resource, torch
from transformers import ModernBertConfig, ModernBertModel
from docketbert.cpu_memory import keep_freed_memory, tuned
from docketbert.unpadded import UnpaddedEncoder
state = keep_freed_memory()
torch.set_num_threads(1)
torch.manual_seed(0)
config = ModernBertConfig(vocab_size=300, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                          intermediate_size=64, local_attention=128, pad_token_id=0, bos_token_id=1,
                          eos_token_id=2, cls_token_id=1, sep_token_id=2, attn_implementation="sdpa")
encoder = UnpaddedEncoder(ModernBertModel(config).eval())
rng = random.Random(0)
rows = [[1] + [rng.randrange(5, 300) for _ in range(n - 2)] + [2] for n in (290, 280, 270, 260, 250, 250, 245)]
encoder(rows, "mean")  # warm: the heap reaches its peak
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    encoder(rows, "mean")
print(state, tuned(), resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def page_faults(tuning: str) -> tuple[str, str, int]:
    env = dict(os.environ, DOCKETBERT_MALLOC_TUNING=tuning)
    out = subprocess.run([sys.executable, "-c", FORWARD], env=env, capture_output=True, text=True, check=True)
    state, tuned, faults = out.stdout.split()
    return state, tuned, int(faults)


@pytest.mark.skipif(not sys.platform.startswith("linux") or os.confstr("CS_GNU_LIBC_VERSION") is None,
                    reason="glibc only")
def test_warm_forward_passes_take_no_page_faults():
    off, on = page_faults("0"), page_faults("1")
    assert off[:2] == ("False", "False") and on[:2] == ("True", "True")
    # measured here: ~90,000 faults in 20 passes with glibc's defaults, ~600 tuned
    assert off[2] > 10_000
    assert on[2] < off[2] / 20
