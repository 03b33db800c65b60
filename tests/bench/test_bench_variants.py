"""Every variant of `python -m docketbert.bench --list` on the CPU, on a tiny exported model: each one the CPU can
run gives a time in both timings (pre-tokenized from MDS shards, and --end-to-end from texts), with no error; each
one it cannot run is refused up front in one line, exit 2, before any model is built. The GPU-only variants run in
the GPU session (gpu_session/gpu_session.py's bench_variants stage)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch
from tiny_models import REPO, save_tiny_model

from docketbert.bench import inference as bench
from docketbert.bench.variants import VARIANTS

CPU = torch.device("cpu")
ON_CPU = [name for name, v in VARIANTS.items() if v.skipped(CPU) is None]
NOT_ON_CPU = [name for name in VARIANTS if name not in ON_CPU]
COMPILED = [name for name in ON_CPU if VARIANTS[name].compile]  # inductor on 2 cores: minutes, so marked slow


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, tokenizer_dir):
    return save_tiny_model(tmp_path_factory.mktemp("bench_variants") / "tiny", tokenizer_dir, 2)


def _bench(model_dir, out, names: list[str], timing: list[str]) -> dict:
    argv = [str(model_dir), "--device", "cpu", "--entries", "24", "--batch-sizes", "8", "--threads", "1"]
    assert bench.main([*argv, *timing, "--variants", *names, "--json", str(out)]) == 0
    return json.loads(out.read_text())["models"][0]["results"]


def _timings(tokenizer_dir, corpus, mds_dir) -> dict[str, list[str]]:
    return {
        "pre-tokenized": ["--data", str(mds_dir)],
        "end-to-end": ["--end-to-end", "--tokenizer", str(tokenizer_dir), "--data", str(corpus)],
    }


@pytest.mark.integration
@pytest.mark.parametrize("timing", ["pre-tokenized", "end-to-end"])
@pytest.mark.parametrize(
    "names",
    [
        pytest.param([n for n in ON_CPU if n not in COMPILED], id="eager"),
        pytest.param(COMPILED, id="compiled", marks=pytest.mark.slow),
    ],
)
def test_every_cpu_variant_gives_a_time(tmp_path, model_dir, tokenizer_dir, corpus, mds_dir, timing, names):
    results = _bench(model_dir, tmp_path / "b.json", names, _timings(tokenizer_dir, corpus, mds_dir)[timing])
    assert list(results) == (names if "reference" in names else ["reference", *names])
    for name, r in results.items():
        assert r.get("status") is None and r["seconds"] > 0 and r["entries_per_s"] > 0, (name, r)
        assert r["speedup"] > 0, (name, r)


def test_the_cpu_variants_are_every_variant_but_the_gpu_only_ones():
    assert set(ON_CPU) | set(NOT_ON_CPU) == set(VARIANTS)
    assert NOT_ON_CPU and all("packed_flex" in n for n in NOT_ON_CPU), NOT_ON_CPU
    for name in bench.default_variants(CPU) + bench.default_variants(CPU, end_to_end=True):
        assert name in ON_CPU


@pytest.mark.parametrize("name", NOT_ON_CPU)
def test_a_variant_the_cpu_cannot_run_is_refused_before_any_model_is_built(name, capsys):
    # A model that does not resolve: the variant's refusal comes before it is looked at.
    code = bench.main(["no/such/model", "--device", "cpu", "--variants", "sorted", name])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1, err
    assert err[0] == f"error: --variants {name} ({VARIANTS[name].why_not}) cannot run on cpu"


@pytest.mark.integration
def test_refusals_are_one_line_and_exit_2_as_typed():
    command = [sys.executable, "-m", "docketbert.bench", "scratch-7M", "--device", "cpu", "--variants"]
    cases = {
        "fp32+packed_flex": "error: --variants fp32+packed_flex (cuda only: on the CPU FlexAttention compiles its "
        "kernels, minutes on a few cores) cannot run on cpu",
    }
    for name, message in cases.items():
        result = subprocess.run([*command, name], cwd=REPO, capture_output=True, text=True, timeout=120)
        assert result.returncode == 2 and result.stderr.strip().splitlines() == [message], result.stderr
