"""The inference benchmark: protocols, the variants table, forced OOM handling, the CLI on shapes and on an exported
model, pre-tokenized and end to end; and the measurement subcommands and GPU-session scripts."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import ModernBertConfig

from docketbert.bench import inference as bench
from docketbert.bench import protocols
from docketbert.bench import variants as bv

REPO = Path(__file__).resolve().parents[2]


def run_bench(*args: str) -> subprocess.CompletedProcess:
    """`python -m docketbert.bench ARGS --threads 1` from the repository, its output captured."""
    command = [sys.executable, "-m", "docketbert.bench", *args, "--threads", "1"]
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)


TINY = dict(
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=2,
    intermediate_size=64,
    vocab_size=512,
    pad_token_id=3,
    cls_token_id=1,
    sep_token_id=2,
    bos_token_id=1,
    eos_token_id=2,
    global_attn_every_n_layers=2,
)


def script(name: str):
    """gpu_session/NAME.py as a module, loaded from its path (the session's scripts are not a package)."""
    spec = importlib.util.spec_from_file_location(f"gpu_session_{name}", REPO / "gpu_session" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_synthetic_lengths_follow_the_reference_corpus():
    lengths = protocols.synthetic_lengths(100_000)
    assert 45 <= np.median(lengths) <= 53 and 63 <= lengths.mean() <= 72
    assert 280 <= np.percentile(lengths, 99) <= 360 and lengths.max() <= 768 and lengths.min() >= 3
    entries = protocols.synthetic_entries(50, ModernBertConfig(**TINY))
    for row in entries:
        assert row[0] == 1 and row[-1] == 2 and not np.isin(row[1:-1], [0, 1, 2, 3]).any()


def test_batches_are_padded_to_a_multiple_of_8_and_sorted_batches_waste_less():
    entries = protocols.synthetic_entries(200, ModernBertConfig(**TINY))
    shuffled = protocols.make_batches(entries, 32, 3, "shuffled")
    ordered = protocols.make_batches(entries, 32, 3, "sorted")
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
    source = protocols.EncoderSource(ModernBertConfig(**TINY))
    model = OOMAbove(source.encoder("sdpa", torch.device("cpu")), limit=16)
    entries = protocols.synthetic_entries(64, source.config)
    result = protocols.sweep(model, entries, [8, 16, 32, 64], 3, "shuffled", torch.device("cpu"), bf16=False)
    assert result["batch_sizes"]["32"]["status"] == "oom" and result["batch_sizes"]["64"]["status"] == "oom"
    assert "forced above batch 16" in result["batch_sizes"]["32"]["error"]
    ok = {bs: r["seconds"] for bs, r in result["batch_sizes"].items() if r["status"] == "ok"}
    assert set(ok) == {"8", "16"} and all(s > 0 for s in ok.values())
    assert result["seconds"] == min(ok.values()) and str(result["best_batch_size"]) in ok
    assert result["entries_per_s"] == pytest.approx(64 / result["seconds"], rel=1e-2)
    assert 0 <= result["padding_fraction"] < 1
    assert 64 in model.calls and 32 in model.calls  # it did try them


def test_sweep_budget_skips_the_rest():
    source = protocols.EncoderSource(ModernBertConfig(**TINY))
    model = source.encoder("sdpa", torch.device("cpu"))
    result = protocols.sweep(
        model,
        protocols.synthetic_entries(32, source.config),
        [8, 16],
        3,
        "sorted",
        torch.device("cpu"),
        bf16=False,
        budget_s=1e-9,
    )
    assert all(r["status"] == "skipped" for r in result["batch_sizes"].values()) and result["seconds"] is None


def test_variants_give_speedups_over_the_reference_protocol():
    source = protocols.EncoderSource(ModernBertConfig(**TINY))
    entries = protocols.synthetic_entries(96, source.config)
    results = bv.run_variants(
        source, entries, ["reference", "sorted"], {"default": protocols.Settings(torch.device("cpu"), [32])}
    )
    assert results["reference"]["attn_implementation"] == "eager" and results["reference"]["dtype"] == "fp32"
    assert results["sorted"]["attn_implementation"] == "sdpa" and results["reference"]["speedup"] == 1.0
    assert results["sorted"]["speedup"] == pytest.approx(
        results["reference"]["seconds"] / results["sorted"]["seconds"], rel=1e-2
    )
    with pytest.raises(ValueError, match="unknown benchmark variant"):
        bv.run_variants(source, entries, ["nope"], {"default": protocols.Settings(torch.device("cpu"), [32])})


def test_named_shapes_have_the_reference_sizes():
    def params(name):
        with torch.device("meta"):
            return (
                sum(p.numel() for p in protocols.ModernBertModel(bench.resolve_model(name).config).parameters()) / 1e6
            )

    assert 145 < params("base-150M") < 152 and 390 < params("large-395M") < 400
    assert 6 < params("scratch-7M") < 8 and 170 < params("sliced-large-ft-interleaved-10l-175M") < 180
    config = bench.resolve_model("sliced-large-first-6l-126M").config
    assert config.num_hidden_layers == 6 and config.layer_types[:2] == ["full_attention", "sliding_attention"]


@pytest.mark.slow  # the bench command line runs in the default suite through test_cli_end_to_end_from_texts
def test_cli_on_a_shape_and_an_exported_model(tmp_path, mds_dir):
    from transformers import ModernBertForMaskedLM

    export = tmp_path / "export"
    ModernBertForMaskedLM(ModernBertConfig(**{**TINY, "vocab_size": 2048})).save_pretrained(export)
    out = tmp_path / "bench.json"
    result = run_bench(
        "scratch-7M",
        str(export),
        *["--device", "cpu", "--entries", "24", "--batch-sizes", "8", "--data"],
        str(mds_dir),
        "--json",
        str(out),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "| scratch-7M | sorted | 8 |" in result.stdout and "speedup" in result.stdout
    report = json.loads(out.read_text())
    assert report["device"] == "cpu" and report["entries"] == 24 and report["machine"]["cpu_count"] >= 1
    assert [m["model"] for m in report["models"]] == ["scratch-7M", str(export)]
    for model in report["models"]:
        ran = set(model["speedup"])
        assert (
            ran == set(bv.default_variants(torch.device("cpu"))) and model["speedup"]["reference"] == 1.0
        )  # every default
        errors = {k: r["error"] for k, r in model["results"].items() if r.get("status") == "error"}
        assert errors == {}, errors  # openvino_int8 pre-tokenized too: calibrated on the benchmark's token rows
        assert model["results"]["reference"]["entries"] == 24 and model["results"]["reference"]["seconds"] > 0
        assert model["entries_from"].endswith("/eval")

    bad = run_bench("no-such-shape")
    assert bad.returncode != 0 and "neither a model directory nor a known shape" in bad.stderr


def test_profile_run_names_the_ops_that_took_the_time():
    from docketbert.bench.profiling import profile_run

    a = torch.randn(256, 256)
    result = profile_run(lambda: [a @ a for _ in range(5)], torch.device("cpu"), top=5)
    assert result["clock"] == "cpu" and result["busy_s"] > 0 and result["wall_s"] > 0
    top = {row["op"]: row for row in result["top"]}
    assert "aten::mm" in top and top["aten::mm"]["calls"] == 5
    assert abs(sum(row["share"] for row in result["top"]) - 1) < 0.5  # the top ops hold most of the time


def test_shape_flag_names_reference_shapes():
    """The issue's form `python -m docketbert.bench --device cpu --shape base-150M --json out.json`."""
    from docketbert.bench.inference import parse_args

    args = parse_args(["--device", "cpu", "--shape", "base-150M", "scratch-7M", "--json", "out.json"])
    assert args.models == ["base-150M", "scratch-7M"] and args.device == "cpu"
    with pytest.raises(SystemExit):
        parse_args(["--shape", "base-151M"])


@pytest.mark.slow  # seven loaders with workers: about 50 s on 2 cores
def test_loader_bench_times_fork_and_forkserver_workers_on_the_same_batches(tmp_path, mds_dir, tokenizer_dir):
    """`python -m docketbert.bench loader --start-methods fork,forkserver`: both start methods are timed in one
    run over the same batches (the same real tokens), and the ratio is reported. (In this process, its loaders
    leave pytest to crash later, in a fine-tune of test_command_errors: exit 139; see the reliability notes.)"""
    out = tmp_path / "loader.json"
    argv = [
        sys.executable,
        "-m",
        "docketbert.bench",
        "loader",
        "--data",
        str(mds_dir),
        "--tokenizer",
        str(tokenizer_dir),
    ]
    argv += ["--workers", "0,1", "--rows", "8", "--width", "128", "--buffer", "64", "--batches", "4", "--warmup", "1"]
    run = subprocess.run(
        [*argv, "--json", str(out), "--start-methods", "fork,forkserver"], cwd=REPO, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads(out.read_text())
    results = report["results"]
    assert set(results) == {"0", "1/fork", "1/forkserver"}
    assert results["1/fork"]["start_method"] == "fork" and results["1/forkserver"]["start_method"] == "forkserver"
    assert results["1/fork"]["real_tokens"] == results["1/forkserver"]["real_tokens"] == results["0"]["real_tokens"]
    assert report["forkserver_vs_fork"]["1"] > 0 and "forkserver / fork" in run.stdout
    bad = subprocess.run([*argv, "--start-methods", "vfork"], cwd=REPO, capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.strip().splitlines() == [
        "error: --start-methods vfork: each one of fork, forkserver, spawn"
    ]


def test_flex_block_masks_bench_checks_and_times_both_builders(tmp_path):
    """gpu_session/flex_block_masks.py: the block tables and create_block_mask agree on real packed rows (it stops
    otherwise), both are timed and counted, and the ratio is reported."""
    flex_block_masks = script("flex_block_masks")

    result = flex_block_masks.main(["--rows", "8", "--width", "256", "--reps", "1", "--json", str(tmp_path / "m.json")])
    assert result["same_tables"] and result["real_tokens"] > 0.95 * 8 * 256
    assert all(v > 0 for v in result["ms_per_step"].values()) and result["speedup"] > 0
    assert result["operators"]["block_tables"] < result["operators"]["create_block_mask"]
    assert json.loads((tmp_path / "m.json").read_text())["rows"] == 8


def test_one_table_of_variant_names():
    """Every name a default, the callback or BENCHMARKS.md uses is in the one table, and the fast names say their
    mode and layout."""
    for names in bv.DEFAULTS.values():
        assert names[0] == "reference" and set(names) <= set(bv.VARIANTS)
    for name, variant in bv.VARIANTS.items():
        if variant.protocol:
            assert name in ("reference", "sorted")
            continue
        assert name == f"{variant.mode}+{variant.layout}" + ("+compile" if variant.compile else "")
        assert variant.layout in bv.LAYOUTS and variant.devices and (variant.why_not or len(variant.devices) == 2)
    assert bv.VARIANTS["int8+unpadded"].skipped(torch.device("cuda"))["status"] == "skipped"
    assert bv.VARIANTS["bf16+packed_flex+compile"].skipped(torch.device("cpu"))["reason"] == bv.FLEX_GPU_ONLY
    names = set(bv.VARIANTS)
    documented = (REPO / "BENCHMARKS.md").read_text()
    for name in bv.default_variants(torch.device("cpu")):
        assert f"`{name}`" in documented, name
    assert names >= {"fp32+unpadded", "bf16+padded", "openvino_int8+padded", "bf16+packed", "bf16+packed_flex"}


def test_text_file_entries_are_tokenized_before_timing(tmp_path, tokenizer_dir, corpus, capsys):
    out = tmp_path / "bench.json"
    assert (
        bench.main(
            [
                "scratch-7M",
                "--device",
                "cpu",
                "--entries",
                "16",
                "--variants",
                "sorted",
                "--tokenizer",
                str(tokenizer_dir),
                "--data",
                str(corpus),
                "--json",
                str(out),
                "--threads",
                "1",
            ]
        )
        == 0
    )
    report = json.loads(out.read_text())
    model = report["models"][0]
    assert report["timing"] == "pre-tokenized" and list(model["results"]) == ["reference", "sorted"]
    assert "tokenized before timing" in model["entries_from"] and model["results"]["reference"]["real_tokens"] > 16 * 3
    assert "| scratch-7M | sorted | 32 |" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        bench.parse_args(["scratch-7M", "--data", str(corpus)])  # no --tokenizer
    with pytest.raises(SystemExit):
        bench.parse_args(["scratch-7M", "--end-to-end"])
    with pytest.raises(SystemExit):
        bench.parse_args(["scratch-7M", "--variants", "fast_bf16"])


@pytest.mark.integration
def test_cli_end_to_end_from_texts(tmp_path, tokenizer_dir, corpus):
    """`--end-to-end`: the same command and variant names, timed from the texts; cosines to the exact path."""
    out = tmp_path / "e2e.json"
    names = ["sorted", "fp32+unpadded", "bf16+padded"]
    result = run_bench(
        *["--end-to-end", "scratch-7M", "--device", "cpu", "--tokenizer"],
        str(tokenizer_dir),
        "--data",
        str(corpus),
        *["--entries", "24", "--variants"],
        *names,
        "--json",
        str(out),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "| scratch-7M | bf16+padded |" in result.stdout
    report = json.loads(out.read_text())
    assert report["timing"] == "end-to-end" and report["entries"] == 24
    r = report["models"][0]["results"]
    assert (
        list(r) == ["reference", *names]
        and r["reference"]["speedup"] == 1.0
        and r["reference"]["measured_entries"] == 24
    )
    for name in names:
        assert r[name]["seconds"] > 0 and r[name]["entries"] == 24 and r[name]["speedup"] > 0, r[name]
    assert "cosine_cls_vs_fp32" not in r["fp32+unpadded"]  # it is the reference
    assert r["bf16+padded"]["cosine_cls_vs_fp32"]["min"] > 0.98 and r["bf16+padded"]["layout"] == "padded"


@pytest.mark.integration
def test_openvino_variants_end_to_end_with_per_op_profile(tokenizer_dir, corpus):
    """An OpenVINO variant runs end to end beside the torch path, close to the exact embeddings, and its profile is
    OpenVINO's per-op counters: matrix multiplies among the ops, graph time within the wall time."""
    from transformers import AutoTokenizer

    from docketbert.bench.end_to_end import run_end_to_end

    tok = AutoTokenizer.from_pretrained(tokenizer_dir)
    config = ModernBertConfig(**{**TINY, "vocab_size": len(tok), "pad_token_id": tok.pad_token_id})
    source = protocols.EncoderSource(config=config, name="tiny")
    texts = protocols.read_texts(str(corpus), 40)
    names = ["reference", "int8+unpadded", "openvino_int8+padded"]
    settings = {"default": protocols.Settings(torch.device("cpu"), [8])}
    r = run_end_to_end(source, texts, tok, names, settings, profile_entries=20)
    for name in names[1:]:
        assert r[name]["seconds"] > 0 and r[name]["speedup"] > 0, r[name]
        assert r[name]["cosine_cls_vs_fp32"]["min"] > 0.98, r[name]
    assert r["openvino_int8+padded"]["mode"] == "openvino_int8"
    profile = r["openvino_int8+padded"]["profile"]
    assert profile["entries"] == 20 and 0 < profile["graph_s"] <= profile["wall_s"]
    assert {"FullyConnected", "MatMul"} & set(profile["by_op_type_ms"]), profile["by_op_type_ms"]
    assert profile["top_kernels"][0]["calls"] > 0


def test_one_front_door_for_every_measurement(capsys):
    """`python -m docketbert.bench` lists its subcommands; each one is a module with its own --help, and without a
    subcommand the inference benchmark takes the arguments, as before."""
    from docketbert.bench.subcommands import SUBCOMMANDS, main

    assert main(["--help"]) == 0
    listing = capsys.readouterr().out
    assert all(f"  {name} " in listing for name in SUBCOMMANDS)
    for name in SUBCOMMANDS:
        with pytest.raises(SystemExit) as exit_:
            main([name, "--help"])
        assert exit_.value.code == 0
        assert "usage:" in capsys.readouterr().out, name
    assert main(["--list"]) == 0 and "variants:" in capsys.readouterr().out  # no subcommand: inference
    assert main(["no-such-shape"]) == 2
    assert capsys.readouterr().err.strip().startswith("error: 'no-such-shape' is neither a model directory")


def test_old_names_are_accepted_with_a_note(capsys):
    from docketbert.bench.variants import canonical_variant
    from docketbert.inference.encoder import canonical_mode

    assert canonical_variant("seed") == "reference" and canonical_variant("exact+unpadded") == "fp32+unpadded"
    assert canonical_mode("exact") == "fp32" and canonical_mode("int8") == "int8"
    assert canonical_variant("bf16+padded") == "bf16+padded"
    notes = capsys.readouterr().err.strip().splitlines()
    assert len(notes) == 3 and all(n.startswith("note: ") and "is now called" in n for n in notes)
    args = bench.parse_args(["scratch-7M", "--variants", "seed", "exact+padded"])
    assert args.variants == ["reference", "fp32+padded"]
