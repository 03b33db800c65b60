"""Every bad pretraining config is one line, `config error: ...` naming the key and what is allowed, exit code 2, no
traceback, and no model built: a table of cases through `docketbert.train.main` in-process, and a few as real
`docketbert/train.py` processes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from tiny_models import PICKLE_RAN, save_tiny_model, write_bad_model_files

from docketbert import train

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "yamls" / "tiny.yaml"
TIME = "a positive integer with a unit (ep, ba, sp, tok), e.g. 1ep, 1000ba, 440000000tok"
INTERVAL = "a positive integer with a unit (ep, ba, sp, tok, dur), e.g. 1ep, 1000ba, 0.05dur (a fraction of the run)"
ATTN = "('auto', 'sdpa', 'eager', 'flash_attention_2', 'flex_attention', 'docketbert_varlen')"
PICKLE = (
    "is a pickle; docketbert loads safetensors only (convert it where the file is trusted: "
    "from_pretrained(DIR).save_pretrained(DIR) writes model.safetensors)"
)
REBUILD = "rebuild the split with data_prep/to_mds.py"

# (overrides or YAML name, the message after "config error: "); {mds}, {runs}, {files} are filled in.
CASES = [
    (
        ["model.config.hiden_size=32"],
        "model.config.hiden_size is not a ModernBertConfig field (did you mean hidden_size?)",
    ),
    (
        ["model.config.num_hidden_layer=2"],
        "model.config.num_hidden_layer is not a ModernBertConfig field (did you mean num_hidden_layers?)",
    ),
    (["model.config.zzzz=2"], "model.config.zzzz is not a ModernBertConfig field"),
    (["optimizer.lr=-1"], "optimizer.lr=-1.0: must be a number > 0"),
    (["optimizer.lr=0"], "optimizer.lr=0.0: must be a number > 0"),
    (["optimizer.weight_decay=-0.1"], "optimizer.weight_decay=-0.1: must be a number >= 0"),
    (["optimizer.betas=[0.9,1.5]"], "optimizer.betas=[0.9, 1.5]: must be two numbers in [0, 1)"),
    (["global_train_batch_size=0"], "global_train_batch_size=0: must be an integer >= 1"),
    (["device_train_microbatch_size=0"], "device_train_microbatch_size=0: must be an integer >= 1"),
    (["device_eval_batch_size=-4"], "device_eval_batch_size=-4: must be an integer >= 1"),
    (["max_duration=10min"], f"max_duration='10min' is not a Composer time: use {TIME}"),
    (["max_duration=100"], f"max_duration='100' is not a Composer time: use {TIME}"),
    (["max_duration=abc"], f"max_duration='abc' is not a Composer time: use {TIME}"),
    (["max_duration=0ba"], f"max_duration='0ba': must be more than zero ({TIME})"),
    (
        ["max_duration=0.5dur"],
        f"max_duration='0.5dur': a fraction of the run (dur) is not allowed here; use {TIME}",
    ),
    (["eval_interval=often"], f"eval_interval='often' is not a Composer time: use {INTERVAL}"),
    (["save_interval=1.5ba"], f"save_interval='1.5ba': ba counts must be whole numbers; use {INTERVAL}"),
    (["scheduler.warmup=2dur"], "scheduler.warmup='2dur': a fraction of the run (dur) is at most 1.0dur"),
    (["scheduler.alpha_f=2"], "scheduler.alpha_f=2.0: must be a number in [0, 1]"),
    (["data.mlm_probability=1.5"], "data.mlm_probability=1.5: must be a number in (0, 1), e.g. 0.3"),
    (["data.mlm_probability=0"], "data.mlm_probability=0.0: must be a number in (0, 1), e.g. 0.3"),
    (["precision=fp13"], "precision='fp13': must be one of auto, fp32, amp_bf16, amp_fp16, amp_fp8"),
    (["device=tpu"], "device='tpu': must be one of auto, gpu, cpu"),
    (["data.num_workers=-1"], "data.num_workers=-1: must be an integer >= 0 or auto"),
    (["data.num_workers=many"], "data.num_workers='many': must be an integer >= 0 or auto"),
    (["data.packing=maybe"], "data.packing='maybe': must be true, false or auto"),
    (["data.eval_subset_num_batches=0"], "data.eval_subset_num_batches=0: must be an integer >= 1"),
    (["loggers.wandb.mode=cloud"], "loggers.wandb.mode='cloud': must be one of offline, online, disabled"),
    (
        ["save_num_checkpoints_to_keep=0"],
        "save_num_checkpoints_to_keep=0: must be an integer >= 1, or -1 to keep every checkpoint",
    ),
    (["run_name=a/b"], "run_name='a/b': must be a non-empty name without '/'"),
    (["model.attn_implementation=fast"], f"model.attn_implementation 'fast' is not one of {ATTN}"),
    (
        ["model.config.num_attention_heads=3"],
        "model.config.hidden_size=64 is not a multiple of num_attention_heads=3",
    ),
    (["model.config.mlp_dropout=1.5"], "model.config.mlp_dropout=1.5: must be a number in [0, 1)"),
    (
        ["model.config.vocab_size=100"],
        "model.config.vocab_size has a vocabulary of 100, fewer than the tokenizer's 2048 tokens",
    ),
    (["data.max_seq_len=10000"], "data.max_seq_len=10000 exceeds the model's max_position_embeddings 1024"),
    (
        ["model.init=nosuchrun"],
        "model.init='nosuchrun' does not exist: not a directory, not a run ({runs}/nosuchrun/hf has no config.json), "
        "and not an HF hub id (owner/name)",
    ),
    (
        ["model.init={files}/bert"],
        "model.init='{files}/bert': {files}/bert holds a 'bert' model; only model_type 'modernbert' is supported",
    ),
    (
        ["model.init={files}/empty"],
        "model.init='{files}/empty': {files}/empty has no config.json (not an HF model directory)",
    ),
    (["tokenizer={files}/nope"], "tokenizer='{files}/nope' does not exist: give a tokenizer directory or an HF hub id"),
    (
        ["data.path={files}/nope"],
        "data.path='{files}/nope' does not exist: give the output folder of data_prep/to_mds.py",
    ),
    (
        ["data.eval_split=nosuch"],
        "data.eval_split='nosuch': no MDS split at {mds}/nosuch (index.json missing)",
    ),
    (
        ["data.path={files}/empty_eval"],
        "data.eval_split='eval': the split at {files}/empty_eval/eval has no samples: set data.eval_split=null or "
        "rebuild with a larger eval split",
    ),
    (
        ["data.path={files}/other_vocab"],
        "tokenizer='{tok}' has 2048 tokens but the shards in {files}/other_vocab were tokenized with 4096 "
        "(stats.json): set tokenizer to the one the shards were written with",
    ),
    (["callbacks.nosuch={{}}"], "unknown callback callbacks.'nosuch' (known: benchmark, distillation)"),
    (["algorithms.layer_slicing.bogus=1"], "unknown option algorithms.layer_slicing.bogus"),
    (["callbacks.distillation.alpha_ce=1"], "callbacks.distillation needs the option callbacks.distillation.teacher"),
    (
        ["callbacks.distillation.teacher=nosuchteacher"],
        "callbacks.distillation.teacher='nosuchteacher' does not exist: not a directory, not a run "
        "({runs}/nosuchteacher/hf has no config.json), and not an HF hub id (owner/name)",
    ),
    (["optimizer.lrr=1"], "unknown config key 'optimizer.lrr' in override 'optimizer.lrr=1'"),
    (
        ["tab.yaml"],
        "config file {files}/tab.yaml is not valid YAML at line 3 column 1: found character that cannot "
        "start any token (a tab: YAML indents with spaces)",
    ),
    (
        ["syntax.yaml"],
        "config file {files}/syntax.yaml is not valid YAML at line 3 column 1: did not find expected ',' or ']'",
    ),
    (["list.yaml"], "config file {files}/list.yaml must be a mapping of keys to values (key: value), not a list"),
    (["cycle_a.yaml"], "defaults: cycle in {files}/cycle_a.yaml: cycle_a.yaml -> cycle_b.yaml -> cycle_a.yaml"),
    (["missing.yaml"], "config file {files}/missing.yaml does not exist"),
    (["adir.yaml"], "config file {files}/adir.yaml is a directory, not a file"),
    # a planted pickle where a model is read, refused before torch sees it
    (["model.init={files}/pickled"], "model.init='{files}/pickled': {files}/pickled/pytorch_model.bin " + PICKLE),
    (["model.init={files}/pickled_pt"], "model.init='{files}/pickled_pt': {files}/pickled_pt/model.pt " + PICKLE),
    (
        ["callbacks.distillation.teacher={files}/pickled"],
        "callbacks.distillation.teacher='{files}/pickled': {files}/pickled/pytorch_model.bin " + PICKLE,
    ),
    # JSON that is not a tokenizer, named with what is wrong with it
    (
        ["tokenizer={files}/faketok"],
        "tokenizer='{files}/faketok': {files}/faketok/tokenizer.json is not a tokenizer: it has no model or "
        "added_tokens (its keys: hello)",
    ),
    (
        ["tokenizer={files}/notjson_tok"],
        "tokenizer='{files}/notjson_tok': {files}/notjson_tok/tokenizer.json is not JSON (line 1 column 1: "
        "Expecting value): not a tokenizer.json",
    ),
    (
        ["tokenizer={files}/other.json"],
        "tokenizer='{files}/other.json': {files}/other.json is a file, not a tokenizer directory (the folder "
        "holding tokenizer.json)",
    ),
    # a file where the run's folder goes
    (["run_root={files}/afile"], "run_root='{files}/afile': {files}/afile is a file, not a directory"),
    # shard columns streaming would unpickle, or that are not what to_mds.py writes
    (
        ["data.path={files}/pkl_column"],
        "data.train_split='train': {files}/pkl_column/train/index.json: shard part-00000/shard.00000.mds column "
        f"'docket' is encoded as 'pkl', a pickle that streaming would unpickle (it can run code): refused; {REBUILD}",
    ),
    (
        ["data.path={files}/str_ids"],
        "data.train_split='train': {files}/str_ids/train/index.json: shard part-00000/shard.00000.mds column "
        f"'input_ids' is encoded as 'str', not ndarray:uint16 or ndarray:uint32 as data_prep/to_mds.py writes it: "
        f"{REBUILD}",
    ),
]


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory, mds_dir, tokenizer_dir):
    """YAMLs that do not parse, model directories that are not ModernBERTs or hold pickled weights, tokenizers that
    are not, and MDS datasets that do not fit or hold columns docketbert does not read."""
    import shutil

    out = tmp_path_factory.mktemp("bad_files")
    (out / "tab.yaml").write_text("run_name: r\ndata:\n\tpath: x\n")
    (out / "syntax.yaml").write_text("run_name: r\ndata: {path: [x\n")
    (out / "list.yaml").write_text("- a\n- b\n")
    (out / "cycle_a.yaml").write_text("defaults: [cycle_b.yaml]\nrun_name: r\n")
    (out / "cycle_b.yaml").write_text("defaults: [cycle_a.yaml]\n")
    (out / "bert").mkdir()
    (out / "bert" / "config.json").write_text(json.dumps({"model_type": "bert", "vocab_size": 30522}))
    (out / "empty").mkdir()
    empty_eval = out / "empty_eval"
    shutil.copytree(mds_dir / "train", empty_eval / "train")
    (empty_eval / "eval").mkdir()
    (empty_eval / "eval" / "index.json").write_text(json.dumps({"version": 2, "shards": []}))
    other = out / "other_vocab"
    shutil.copytree(mds_dir, other)
    stats = json.loads((other / "stats.json").read_text())
    (other / "stats.json").write_text(json.dumps({**stats, "vocab_size": 4096}))
    (out / "adir.yaml").mkdir()
    (out / "afile").write_text("not a directory\n")
    save_tiny_model(out / "tiny", tokenizer_dir, 2, with_tokenizer=False, max_position_embeddings=1024)
    write_bad_model_files(out, out / "tiny", tokenizer_dir)
    for name, column, encoding in (("pkl_column", "docket", "pkl"), ("str_ids", "input_ids", "str")):
        shutil.copytree(mds_dir, out / name)
        index_file = out / name / "train" / "index.json"
        index = json.loads(index_file.read_text())
        for shard in index["shards"]:
            shard["column_encodings"][shard["column_names"].index(column)] = encoding
        index_file.write_text(json.dumps(index))
    return out


def argv(args: list[str], mds_dir, tokenizer_dir, run_root, files) -> list[str]:
    base = [f"tokenizer={tokenizer_dir}", f"data.path={mds_dir}", f"run_root={run_root}", "loggers.progress_bar=false"]
    filled = [a.format(files=files) for a in args]
    yamls = [str(files / a) for a in filled if a.endswith(".yaml")]
    return [*(yamls or [str(TINY)]), *base, *(a for a in filled if not a.endswith(".yaml"))]


@pytest.mark.parametrize("args, message", CASES, ids=[" ".join(c[0]).replace("{{}}", "{}") for c in CASES])
def test_bad_config_is_one_line(args, message, mds_dir, tokenizer_dir, tmp_path, bad_files, capsys, monkeypatch):
    import docketbert.model.build as build

    def refuse(*_args, **_kwargs):
        raise AssertionError("a model was built for a bad config")

    monkeypatch.setattr(build, "ModernBertForMaskedLM", refuse)
    rc = train.main(argv(args, mds_dir, tokenizer_dir, tmp_path, bad_files))
    err = capsys.readouterr().err
    want = message.format(mds=mds_dir, runs=tmp_path, files=bad_files, tok=tokenizer_dir)
    assert rc == 2, err[-2000:]
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1] == f"config error: {want}"
    assert err.count("config error:") == 1
    assert not (bad_files / PICKLE_RAN).exists(), "a planted pickle was unpickled"


def test_table_is_large_enough():
    assert len(CASES) >= 60


@pytest.mark.integration
@pytest.mark.parametrize(
    "args, message",
    [
        (["model.config.hiden_size=32"], "model.config.hiden_size is not a ModernBertConfig field"),
        # One process shows the command line's exit code and stderr; the table runs the rest in-process.
        pytest.param(["max_duration=0ba"], "max_duration='0ba': must be more than zero", marks=pytest.mark.slow),
        pytest.param(["model.init=./no/such/dir"], "model.init='./no/such/dir' does not exist", marks=pytest.mark.slow),
    ],
)
def test_bad_config_as_a_process(args, message, mds_dir, tokenizer_dir, tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            str(REPO / "docketbert" / "train.py"),
            *argv(args, mds_dir, tokenizer_dir, tmp_path, tmp_path),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"config error: {message}"), last


def test_required_keys_set_by_override(mds_dir, tokenizer_dir, tmp_path):
    """`_sliced.yaml run_name=x data.path=...` sets the keys the YAML leaves required (`???`)."""
    from docketbert.config import load_config

    cfg = load_config([REPO / "yamls" / "_sliced.yaml"], ["run_name=x", f"data.path={mds_dir}"])
    assert cfg.run_name == "x" and cfg.data.path == str(mds_dir)


def test_hub_ids_stay_hub_ids(tmp_path, monkeypatch):
    """`answerdotai/ModernBERT-base` is a hub id (not refused as a missing path); `./x`, `a/b/c`, `nosuchrun` are
    not, and a missing one never reaches the hub."""
    from docketbert.model.build import is_hub_id, looks_like_path, resolve_init

    monkeypatch.chdir(tmp_path)
    assert is_hub_id("answerdotai/ModernBERT-base") and resolve_init("answerdotai/ModernBERT-base") == (
        "answerdotai/ModernBERT-base"
    )
    (tmp_path / "data").mkdir()
    for name in ("./x", "a/b/c", "/abs/x", "~/x", "data/tokenizer"):
        assert looks_like_path(name) and not is_hub_id(name), name
    for name in ("nosuchrun", "./x", "data/tokenizer"):
        with pytest.raises(ValueError, match="does not exist"):
            resolve_init(name, tmp_path / "runs")
