"""The inference benchmark: protocols, forced OOM handling, the CLI on shapes and on an exported model."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import ModernBertConfig

from docketbert.bench import command as bench
from docketbert.bench import protocols as ib

REPO = Path(__file__).resolve().parents[1]
TINY = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64, vocab_size=512,
            pad_token_id=3, cls_token_id=1, sep_token_id=2, bos_token_id=1, eos_token_id=2,
            global_attn_every_n_layers=2)


def test_synthetic_lengths_follow_the_seed_corpus():
    lengths = ib.synthetic_lengths(100_000)
    assert 45 <= np.median(lengths) <= 53 and 63 <= lengths.mean() <= 72
    assert 280 <= np.percentile(lengths, 99) <= 360 and lengths.max() <= 768 and lengths.min() >= 3
    entries = ib.synthetic_entries(50, ModernBertConfig(**TINY))
    for row in entries:
        assert row[0] == 1 and row[-1] == 2 and not np.isin(row[1:-1], [0, 1, 2, 3]).any()


def test_batches_are_padded_to_a_multiple_of_8_and_sorted_batches_waste_less():
    entries = ib.synthetic_entries(200, ModernBertConfig(**TINY))
    shuffled = ib.make_batches(entries, 32, 3, "shuffled")
    ordered = ib.make_batches(entries, 32, 3, "sorted")
    for ids, mask in shuffled + ordered:
        assert ids.shape[1] % 8 == 0 and int(mask.sum(1).max()) > ids.shape[1] - 8
        assert torch.equal(ids == 3, mask == 0)
    assert sum(int(m.sum()) for _, m in shuffled) == sum(len(e) for e in entries)
    assert sum(i.numel() for i, _ in ordered) < 0.7 * sum(i.numel() for i, _ in shuffled)


class OOMAbove(torch.nn.Module):
    """The real model, but a batch larger than `limit` raises the real torch.OutOfMemoryError."""

    def __init__(self, model, limit):
        super().__init__()
        self.model, self.limit, self.calls = model, limit, []

    def forward(self, input_ids, attention_mask):
        self.calls.append(input_ids.shape[0])
        if input_ids.shape[0] > self.limit:
            raise torch.OutOfMemoryError(f"CUDA out of memory (forced above batch {self.limit})")
        return self.model(input_ids=input_ids, attention_mask=attention_mask)


def test_forced_oom_is_recorded_and_skipped():
    source = ib.EncoderSource(ModernBertConfig(**TINY))
    model = OOMAbove(source.encoder("sdpa", torch.device("cpu")), limit=16)
    entries = ib.synthetic_entries(64, source.config)
    result = ib.sweep(model, entries, [8, 16, 32, 64], 3, "shuffled", torch.device("cpu"), bf16=False)
    assert result["batch_sizes"]["32"]["status"] == "oom" and result["batch_sizes"]["64"]["status"] == "oom"
    assert "forced above batch 16" in result["batch_sizes"]["32"]["error"]
    ok = {bs: r["seconds"] for bs, r in result["batch_sizes"].items() if r["status"] == "ok"}
    assert set(ok) == {"8", "16"} and all(s > 0 for s in ok.values())
    assert result["seconds"] == min(ok.values()) and str(result["best_batch_size"]) in ok
    assert result["entries_per_s"] == pytest.approx(64 / result["seconds"], rel=1e-2)
    assert 0 <= result["padding_fraction"] < 1
    assert 64 in model.calls and 32 in model.calls  # it did try them


def test_sweep_budget_skips_the_rest():
    source = ib.EncoderSource(ModernBertConfig(**TINY))
    model = source.encoder("sdpa", torch.device("cpu"))
    result = ib.sweep(model, ib.synthetic_entries(32, source.config), [8, 16], 3, "sorted", torch.device("cpu"),
                      bf16=False, budget_s=1e-9)
    assert all(r["status"] == "skipped" for r in result["batch_sizes"].values()) and result["seconds"] is None


def test_variants_give_speedups_over_the_seed_protocol():
    source = ib.EncoderSource(ModernBertConfig(**TINY))
    entries = ib.synthetic_entries(96, source.config)
    results = ib.run_variants(source, entries, ["seed", "sorted"],
                              {"default": ib.Settings(torch.device("cpu"), [32])})
    assert results["seed"]["attn_implementation"] == "eager" and results["seed"]["dtype"] == "fp32"
    assert results["sorted"]["attn_implementation"] == "sdpa" and results["seed"]["speedup"] == 1.0
    assert results["sorted"]["speedup"] == pytest.approx(results["seed"]["seconds"] / results["sorted"]["seconds"],
                                                         rel=1e-2)
    with pytest.raises(ValueError, match="unknown benchmark variant"):
        ib.run_variants(source, entries, ["nope"], {"default": ib.Settings(torch.device("cpu"), [32])})


def test_named_shapes_have_the_seed_sizes():
    def params(name):
        with torch.device("meta"):
            return sum(p.numel() for p in ib.ModernBertModel(bench.resolve_model(name).config).parameters()) / 1e6
    assert 145 < params("base-150M") < 152 and 390 < params("large-395M") < 400
    assert 6 < params("scratch-7M") < 8 and 170 < params("sliced-large-ft-interleaved-10l-175M") < 180
    config = bench.resolve_model("sliced-large-first-6l-126M").config
    assert config.num_hidden_layers == 6 and config.layer_types[:2] == ["full_attention", "sliding_attention"]


def test_cli_on_a_shape_and_an_exported_model(tmp_path, mds_dir):
    from transformers import ModernBertForMaskedLM

    export = tmp_path / "export"
    ModernBertForMaskedLM(ModernBertConfig(**{**TINY, "vocab_size": 2048})).save_pretrained(export)
    out = tmp_path / "bench.json"
    result = subprocess.run([sys.executable, "-m", "docketbert.bench", "scratch-7M", str(export), "--device", "cpu",
                             "--entries", "24", "--batch-sizes", "8", "--data", str(mds_dir), "--json", str(out),
                             "--threads", "1"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "| scratch-7M | sorted | 8 |" in result.stdout and "speedup" in result.stdout
    report = json.loads(out.read_text())
    assert report["device"] == "cpu" and report["entries"] == 24 and report["machine"]["cpu_count"] >= 1
    assert [m["model"] for m in report["models"]] == ["scratch-7M", str(export)]
    for model in report["models"]:
        assert set(model["speedup"]) == set(ib.VARIANTS) and model["speedup"]["seed"] == 1.0  # every variant ran
        assert model["results"]["seed"]["entries"] == 24 and model["results"]["seed"]["seconds"] > 0
        assert model["entries_from"].endswith("/eval")

    bad = subprocess.run([sys.executable, "-m", "docketbert.bench", "no-such-shape"], cwd=REPO,
                         capture_output=True, text=True)
    assert bad.returncode != 0 and "neither a model directory nor a known shape" in bad.stderr


def test_profile_run_names_the_ops_that_took_the_time():
    from docketbert.bench.profiling import profile_run

    a = torch.randn(256, 256)
    result = profile_run(lambda: [a @ a for _ in range(5)], torch.device("cpu"), top=5)
    assert result["clock"] == "cpu" and 0 < result["busy_s"] and 0 < result["wall_s"]
    top = {row["op"]: row for row in result["top"]}
    assert "aten::mm" in top and top["aten::mm"]["calls"] == 5
    assert abs(sum(row["share"] for row in result["top"]) - 1) < 0.5  # the top ops hold most of the time


def test_shape_flag_names_seed_shapes():
    """The issue's form `python -m docketbert.bench --device cpu --shape base-150M --json out.json`."""
    from docketbert.bench.command import parse_args

    args = parse_args(["--device", "cpu", "--shape", "base-150M", "scratch-7M", "--json", "out.json"])
    assert args.models == ["base-150M", "scratch-7M"] and args.device == "cpu"
    with pytest.raises(SystemExit):
        parse_args(["--shape", "base-151M"])


def test_cpu_attention_settings_agree_and_are_timed(tmp_path, tokenizer_dir, shared_data):
    """bench/cpu_attention.py: every setting gives the same embeddings as the first (fp32), each gets a time and a
    ratio, and the module's settings are restored afterwards."""
    sys.path.insert(0, str(REPO / "bench"))
    import cpu_attention

    from docketbert.model import unpadded

    saved = unpadded.MATMUL_ATTENTION_MAX_LEN, unpadded.SCORE_CHUNK
    out = tmp_path / "attention.json"
    cpu_attention.main(["--shape", "scratch-7M", "--modes", "exact", "--settings", "128:inf", "256:4k", "8:inf",
                        "--tokenizer", str(tokenizer_dir), "--input", str(shared_data / "docket_entries.jsonl.gz"),
                        "--entries", "24", "--reps", "1", "--json", str(out)])
    rows = json.loads(out.read_text())["results"]["scratch-7M exact"]
    assert list(rows) == ["128:inf", "256:4k", "8:inf"] and rows["128:inf"]["speedup"] == 1.0
    assert all(r["seconds"] > 0 and r["max_abs_diff_vs_first"] < 1e-4 for r in rows.values())
    assert (unpadded.MATMUL_ATTENTION_MAX_LEN, unpadded.SCORE_CHUNK) == saved
    assert cpu_attention.parse_setting("256:2M") == (256, 2 << 20)
    with pytest.raises(Exception, match="MAX_LEN:CHUNK"):
        cpu_attention.parse_setting("256")


def test_tokenize_speed_compares_equal_ids(tmp_path, tokenizer_dir, shared_data):
    """bench/tokenize_speed.py checks both tokenization paths give the same ids (truncated ones included) and
    times them."""
    sys.path.insert(0, str(REPO / "bench"))
    import tokenize_speed

    result = tokenize_speed.main(["--tokenizer", str(tokenizer_dir), "--input",
                                  str(shared_data / "docket_entries.jsonl.gz"), "--entries", "300",
                                  "--max-length", "32", "--reps", "1"])
    assert result["entries"] == 300 and result["speedup"] > 0
    assert all(v > 0 for v in result["seconds"].values())


def test_host_batching_checks_equal_tensors(tokenizer_dir, shared_data):
    """bench/host_batching.py: the old and new host-side batch building give equal tensors, and both are timed."""
    sys.path.insert(0, str(REPO / "bench"))
    import host_batching

    result = host_batching.main(["--tokenizer", str(tokenizer_dir), "--input",
                                 str(shared_data / "docket_entries.jsonl.gz"), "--entries", "500", "--budget", "2048",
                                 "--reps", "1"])
    assert result["entries"] == 500 and result["batches"] > 1
    assert all(v > 0 for v in result["seconds"].values()) and set(result["speedup"]) == {"flat", "pad"}


def test_unpadded_revisions_compares_a_git_revision(tmp_path, tokenizer_dir, shared_data):
    """bench/unpadded_revisions.py: the unpadded forward at a git revision (HEAD here) and in the working tree give
    the same embeddings (fp32) and both are timed."""
    if subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True).returncode:
        pytest.skip("not a git checkout")
    sys.path.insert(0, str(REPO / "bench"))
    import unpadded_revisions

    result = unpadded_revisions.main(["--base", "HEAD", "--shape", "scratch-7M", "--modes", "exact", "--tokenizer",
                                      str(tokenizer_dir), "--input", str(shared_data / "docket_entries.jsonl.gz"),
                                      "--entries", "24", "--reps", "1", "--json", str(tmp_path / "r.json")])
    row = result["results"]["scratch-7M exact"]
    assert row["base_s"] > 0 and row["working_tree_s"] > 0 and row["speedup"] > 0
    assert row["max_abs_diff"] < 1e-4
    assert json.loads((tmp_path / "r.json").read_text())["base"] == "HEAD"


def test_flex_block_masks_bench_checks_and_times_both_builders(tmp_path):
    """bench/flex_block_masks.py: the block tables and create_block_mask agree on real packed rows (it stops
    otherwise), both are timed and counted, and the ratio is reported."""
    sys.path.insert(0, str(REPO / "bench"))
    import flex_block_masks

    result = flex_block_masks.main(["--rows", "8", "--width", "256", "--reps", "1", "--json", str(tmp_path / "m.json")])
    assert result["same_tables"] and result["real_tokens"] > 0.95 * 8 * 256
    assert all(v > 0 for v in result["ms_per_step"].values()) and result["speedup"] > 0
    assert result["operators"]["block_tables"] < result["operators"]["create_block_mask"]
    assert json.loads((tmp_path / "m.json").read_text())["rows"] == 8
