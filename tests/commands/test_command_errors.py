"""Bad command lines of finetune, evaluate, infer, train_tokenizer, to_mds, study and report: each ends in one line on
stderr naming what is wrong (the file, the line where there is one, and what is wrong with it), exit code 2, and no
traceback. Most run in-process through each command's main(argv); a few run as real subprocesses (`python -m ...`,
`data_prep/train_tokenizer.py`), as a user types them. `FAULT_CLASSES` names each class of fault and the commands
it applies to; the table holds a case of every class for every one of them."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from tiny_models import PICKLE_RAN, REPO, plant_pickle, save_tiny_model, write_bad_model_files

from docketbert import study
from docketbert.data import to_mds_job, tokenizer_training
from docketbert.downstream import evaluation, finetuning, infer_job
from docketbert.report import results as report

COMMANDS = {
    "finetune": finetuning.main,
    "evaluate": evaluation.main,
    "infer": infer_job.main,
    "train_tokenizer": tokenizer_training.main,
    "to_mds": to_mds_job.main,
    "study": study.main,
    "report": report.main,
}


def _rows(n: int) -> list[dict]:
    labels = ["motion", "order"]
    return [
        {"text": f"{labels[i % 2].upper()} number {i} granting relief", "label": labels[i % 2], "case": f"c{i % 8}"}
        for i in range(n)
    ]


@pytest.fixture(scope="module")
def files(tmp_path_factory, tokenizer_dir, corpus):
    """Task files, bad inputs and a tiny MLM init, shared by every case."""
    d = tmp_path_factory.mktemp("command_errors")
    save_tiny_model(d / "init", tokenizer_dir, 2)
    (d / "et.jsonl").write_text("".join(json.dumps(r) + "\n" for r in _rows(32)))
    nocase = [{"text": f"ORDER {i}", "label": "order"} for i in range(5)]
    (d / "nocase.jsonl").write_text("".join(json.dumps(r) + "\n" for r in nocase))
    (d / "unseen.jsonl").write_text(json.dumps({"text": "Letter to the court", "label": "letter"}) + "\n")
    cites = [{"text": "ORDER re 56 Motion", "spans": [{"start": 9, "end": 11}], "case": "a"}]
    cites.append({"text": "ORDER granting 5", "spans": [], "case": "b"})
    (d / "cites.jsonl").write_text("".join(json.dumps(r) + "\n" for r in cites))
    for kind, span in (("float", {"start": 9.0, "end": 11.0}), ("bool", {"start": False, "end": True})):
        rows = [{**cites[0], "spans": [span]}, cites[1]]
        (d / f"{kind}span.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (d / "entries.jsonl").write_text("".join(json.dumps({"text": f"ORDER granting {i}"}) + "\n" for i in range(20)))
    packed = gzip.compress(b"".join(json.dumps({"text": f"ORDER {i} " * 20}).encode() + b"\n" for i in range(2000)))
    (d / "trunc.jsonl.gz").write_bytes(packed[: len(packed) // 2])
    (d / "empty.txt").write_text("")
    (d / "afile").write_text("not a directory\n")
    (d / "out.jsonl").mkdir()
    (d / "no_yamls").mkdir()
    write_bad_model_files(d, d / "init", tokenizer_dir)
    good = json.dumps({"text": "ORDER 1 granting", "label": "order", "case": "c0"}).encode()
    (d / "badutf.jsonl").write_bytes(good + b"\n" + good.replace(b"ORDER 1", b"ORDER \xff") + b"\n")
    for kind, span in (("empty", {"start": 4, "end": 4}), ("back", {"start": 9, "end": 4})):
        rows = [{**cites[0], "spans": [span]}, cites[1]]
        (d / f"{kind}span.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return d


@pytest.fixture(scope="module")
def ft(files):
    """One tiny entry_type fine-tune (1 epoch, no baselines), shared by the evaluate and infer cases."""
    out = files / "ft"
    argv = ["--task", "entry_type", "--train", str(files / "et.jsonl"), "--init", str(files / "init")]
    argv += ["--output", str(out), "--epochs", "1", "--batch-size", "8", "--no-baselines", "--max-length", "32"]
    assert finetuning.main(argv) == 0
    broken = files / "ft_broken_record"
    shutil.copytree(out, broken)
    (broken / "docketbert_finetune.json").write_text("{not json")
    plant_pickle(out, files / "pk_ft")
    renamed = plant_pickle(out, files / "renamed_ft")  # a pickle under the safetensors name
    os.replace(renamed / "pytorch_model.bin", renamed / "model.safetensors")
    shutil.copytree(out, files / "ft_badtok")
    (files / "ft_badtok" / "tokenizer.json").write_text("not json {\n")
    return out


@dataclass
class Case:
    id: str
    command: str
    argv: list[str]
    message: str  # the exact last line of stderr; {d} is the files folder
    needs_ft: bool = False
    fault: str = ""  # its class in FAULT_CLASSES, if any


# Each class of fault and the commands it applies to (pretraining's are in test_config_errors.py).
INPUT_COMMANDS = {"finetune", "evaluate", "infer", "train_tokenizer", "to_mds", "report"}
FAULT_CLASSES = {
    "pickled-model": {"finetune", "evaluate", "infer"},
    "directory-as-input-file": INPUT_COMMANDS,
    "device-as-input-file": INPUT_COMMANDS,
    "not-a-tokenizer": {"finetune", "evaluate", "infer", "to_mds"},
    "file-as-output-directory": {"finetune", "infer", "train_tokenizer", "to_mds", "report"},
    "invalid-utf8-task-file": {"finetune", "evaluate"},
    "empty-or-backwards-span": {"finetune"},
}


FT = ["--task", "entry_type", "--train", "{d}/et.jsonl", "--init", "{d}/init", "--no-baselines"]
CIT = ["--task", "citations", "--init", "{d}/init", "--output", "{d}/x"]
INF = ["{d}/ft", "--no-progress", "--device", "cpu"]
TOK = ["--output", "{d}/tk", "--vocab-size", "512"]
NOT_A_DIR = "{d}/afile: {d}/afile is a file, not a directory"
UNDER_A_FILE = "{d}/afile/sub: {d}/afile is a file, not a directory"
TMDS = ["--tokenizer", "{d}/init", "--no-progress"]  # init holds the tiny model's tokenizer
PICKLE = (
    "is a pickle; docketbert loads safetensors only (convert it where the file is trusted: "
    "from_pretrained(DIR).save_pretrained(DIR) writes model.safetensors)"
)
DEVNULL = "/dev/null is a character device, not a regular file"
FAKETOK = "{d}/faketok/tokenizer.json is not a tokenizer: it has no model or added_tokens (its keys: hello)"
NOTJSON = "tokenizer.json is not JSON (line 1 column 1: Expecting value): not a tokenizer.json"
BADUTF = "{d}/badutf.jsonl:2: invalid UTF-8 (byte 0xff, the line's byte 17)"

CASES = [
    # finetune: every one is found before any training
    Case(
        "finetune-init-nosuchrun",
        "finetune",
        [*FT[:4], "--init", "nosuchrun", "--output", "{d}/x", "--run-root", "{d}/runs"],
        "error: --init 'nosuchrun': no run {d}/runs/nosuchrun/hf, no directory nosuchrun, and no HF model of that "
        "name could be loaded (no network, or no such model)",
    ),
    Case(
        "finetune-init-not-a-model",
        "finetune",
        [*FT[:4], "--init", "{d}/no_yamls", "--output", "{d}/x"],
        "error: --init {d}/no_yamls: {d}/no_yamls has no config.json, so it is not a model directory",
    ),
    Case(
        "finetune-train-missing",
        "finetune",
        ["--task", "entry_type", "--train", "{d}/nope.jsonl", "--init", "{d}/init", "--output", "{d}/x"],
        "error: --train {d}/nope.jsonl does not exist",
    ),
    Case(
        "finetune-train-is-a-directory",
        "finetune",
        ["--task", "entry_type", "--train", "{d}", "--init", "{d}/init", "--output", "{d}/x"],
        "error: --train {d} is a directory, not a file",
        fault="directory-as-input-file",
    ),
    Case(
        "finetune-eval-is-a-directory",
        "finetune",
        [*FT, "--output", "{d}/x", "--eval", "{d}/no_yamls"],
        "error: --eval {d}/no_yamls is a directory, not a file",
        fault="directory-as-input-file",
    ),
    Case(
        "finetune-train-is-dev-null",
        "finetune",
        ["--task", "entry_type", "--train", "/dev/null", "--init", "{d}/init", "--output", "{d}/x"],
        "error: --train " + DEVNULL,
        fault="device-as-input-file",
    ),
    Case(
        "finetune-train-invalid-utf8",
        "finetune",
        ["--task", "entry_type", "--train", "{d}/badutf.jsonl", "--init", "{d}/init", "--output", "{d}/x"],
        "error: " + BADUTF,
        fault="invalid-utf8-task-file",
    ),
    Case(
        "finetune-eval-invalid-utf8",
        "finetune",
        [*FT, "--output", "{d}/x", "--eval", "{d}/badutf.jsonl"],
        "error: " + BADUTF,
        fault="invalid-utf8-task-file",
    ),
    Case(
        "finetune-init-pickled-bin",
        "finetune",
        [*FT[:4], "--init", "{d}/pickled", "--output", "{d}/x"],
        "error: --init {d}/pickled: {d}/pickled/pytorch_model.bin " + PICKLE,
        fault="pickled-model",
    ),
    Case(
        "finetune-init-pickled-pt",
        "finetune",
        [*FT[:4], "--init", "{d}/pickled_pt", "--output", "{d}/x"],
        "error: --init {d}/pickled_pt: {d}/pickled_pt/model.pt " + PICKLE,
        fault="pickled-model",
    ),
    Case(
        "finetune-tokenizer-not-a-tokenizer",
        "finetune",
        [*FT, "--output", "{d}/x", "--tokenizer", "{d}/faketok"],
        "error: --tokenizer {d}/faketok: " + FAKETOK,
        fault="not-a-tokenizer",
    ),
    Case(
        "finetune-tokenizer-not-json",
        "finetune",
        [*FT, "--output", "{d}/x", "--tokenizer", "{d}/notjson_tok"],
        "error: --tokenizer {d}/notjson_tok: {d}/notjson_tok/" + NOTJSON,
        fault="not-a-tokenizer",
    ),
    Case(
        "finetune-tokenizer-is-a-json-file",
        "finetune",
        [*FT, "--output", "{d}/x", "--tokenizer", "{d}/other.json"],
        "error: --tokenizer {d}/other.json: {d}/other.json is a file, not a tokenizer directory (the folder "
        "holding tokenizer.json)",
        fault="not-a-tokenizer",
    ),
    Case(
        "finetune-output-under-a-file",
        "finetune",
        [*FT, "--output", "{d}/afile/sub"],
        "error: --output " + UNDER_A_FILE,
        fault="file-as-output-directory",
    ),
    Case(
        "finetune-empty-span",
        "finetune",
        [*CIT, "--train", "{d}/emptyspan.jsonl"],
        "error: {d}/emptyspan.jsonl:1: span 0 [4, 4) is empty (a span covers at least one character)",
        fault="empty-or-backwards-span",
    ),
    Case(
        "finetune-eval-empty-span",
        "finetune",
        [*CIT, "--train", "{d}/cites.jsonl", "--eval", "{d}/emptyspan.jsonl"],
        "error: {d}/emptyspan.jsonl:1: span 0 [4, 4) is empty (a span covers at least one character)",
        fault="empty-or-backwards-span",
    ),
    Case(
        "finetune-backwards-span",
        "finetune",
        [*CIT, "--train", "{d}/backspan.jsonl"],
        "error: {d}/backspan.jsonl:1: span 0 [9, 4) ends before it starts",
        fault="empty-or-backwards-span",
    ),
    Case(
        "finetune-eval-unseen-label",
        "finetune",
        [*FT, "--output", "{d}/x", "--eval", "{d}/unseen.jsonl"],
        "error: --eval {d}/unseen.jsonl row 1: label 'letter' is not one of the model's 2 labels (motion, order)",
    ),
    Case(
        "finetune-epochs-0",
        "finetune",
        [*FT, "--output", "{d}/x", "--epochs", "0"],
        "config error: invalid value for config key 'epochs': 0 (allowed: an integer >= 1)",
    ),
    Case(
        "finetune-lr-negative",
        "finetune",
        [*FT, "--output", "{d}/x", "--lr", "-1"],
        "config error: invalid value for config key 'lr': -1.0 (allowed: a number > 0)",
    ),
    Case(
        "finetune-batch-size-0",
        "finetune",
        [*FT, "--output", "{d}/x", "--batch-size", "0"],
        "config error: invalid value for config key 'batch_size': 0 (allowed: an integer >= 1)",
    ),
    Case(
        "finetune-eval-fraction",
        "finetune",
        [*FT, "--output", "{d}/x", "--eval-fraction", "1.5"],
        "config error: invalid value for config key 'eval_fraction': 1.5 (allowed: a fraction in (0, 1))",
    ),
    Case(
        "finetune-max-length-beyond-positions",
        "finetune",
        [*FT, "--output", "{d}/x", "--max-length", "4096"],
        "config error: invalid value for config key 'max_length': 4096 is more than the 512 positions of "
        "--init {d}/init",
    ),
    Case(
        "finetune-tokenizer-missing",
        "finetune",
        [*FT, "--output", "{d}/x", "--tokenizer", "{d}/notok"],
        "error: --tokenizer '{d}/notok': no directory {d}/notok, and no HF model of that name could be loaded "
        "(no network, or no such model)",
    ),
    Case(
        "finetune-output-is-a-file",
        "finetune",
        [*FT, "--output", "{d}/afile"],
        "error: --output " + NOT_A_DIR,
        fault="file-as-output-directory",
    ),
    Case(
        "finetune-split-without-case",
        "finetune",
        ["--task", "entry_type", "--train", "{d}/nocase.jsonl", "--init", "{d}/init", "--output", "{d}/x"],
        "error: row 1 (and 4 more) has no `case` field: cannot split by case; give an eval file instead",
    ),
    Case(
        "finetune-float-span",
        "finetune",
        [*CIT, "--train", "{d}/floatspan.jsonl"],
        "error: {d}/floatspan.jsonl:1: span 0 needs integer `start` and `end`, got {{'start': 9.0, 'end': 11.0}}",
    ),
    Case(
        "finetune-bool-span",
        "finetune",
        [*CIT, "--train", "{d}/boolspan.jsonl"],
        "error: {d}/boolspan.jsonl:1: span 0 needs integer `start` and `end`, got {{'start': False, 'end': True}}",
    ),
    Case(
        "finetune-epochs-not-an-int",
        "finetune",
        [*FT, "--output", "{d}/x", "--epochs", "abc"],
        "python -m docketbert.finetune: error: argument --epochs: invalid int value: 'abc'",
    ),
    # evaluate
    Case(
        "evaluate-task-differs-from-the-model's",
        "evaluate",
        ["{d}/ft", "--task", "citations", "--data", "{d}/cites.jsonl"],
        "error: {d}/ft was fine-tuned for task entry_type (docketbert_finetune.json), not citations: "
        "use --task entry_type",
        needs_ft=True,
    ),
    Case(
        "evaluate-model-missing",
        "evaluate",
        ["{d}/nomodel", "--task", "entry_type", "--data", "{d}/et.jsonl"],
        "error: model directory {d}/nomodel does not exist: give a docketbert.finetune output",
    ),
    Case(
        "evaluate-model-without-head",
        "evaluate",
        ["{d}/init", "--task", "entry_type", "--data", "{d}/et.jsonl"],
        "error: {d}/init has no fine-tuned head (ModernBertForMaskedLM): nothing to evaluate",
    ),
    Case(
        "evaluate-data-missing",
        "evaluate",
        ["{d}/ft", "--task", "entry_type", "--data", "{d}/nope.jsonl"],
        "error: task file {d}/nope.jsonl does not exist",
        needs_ft=True,
    ),
    Case(
        "evaluate-data-is-a-directory",
        "evaluate",
        ["{d}/ft", "--task", "entry_type", "--data", "{d}/no_yamls"],
        "error: task file {d}/no_yamls is a directory, not a file",
        needs_ft=True,
        fault="directory-as-input-file",
    ),
    Case(
        "evaluate-data-is-dev-null",
        "evaluate",
        ["{d}/ft", "--task", "entry_type", "--data", "/dev/null"],
        "error: task file " + DEVNULL,
        needs_ft=True,
        fault="device-as-input-file",
    ),
    Case(
        "evaluate-data-invalid-utf8",
        "evaluate",
        ["{d}/ft", "--task", "entry_type", "--data", "{d}/badutf.jsonl"],
        "error: " + BADUTF,
        needs_ft=True,
        fault="invalid-utf8-task-file",
    ),
    Case(
        "evaluate-model-pickled",
        "evaluate",
        ["{d}/pk_ft", "--task", "entry_type", "--data", "{d}/et.jsonl"],
        "error: {d}/pk_ft/pytorch_model.bin " + PICKLE,
        needs_ft=True,
        fault="pickled-model",
    ),
    Case(
        "evaluate-model-tokenizer-not-json",
        "evaluate",
        ["{d}/ft_badtok", "--task", "entry_type", "--data", "{d}/et.jsonl"],
        "error: {d}/ft_badtok/" + NOTJSON,
        needs_ft=True,
        fault="not-a-tokenizer",
    ),
    Case(
        "evaluate-max-length-0",
        "evaluate",
        ["{d}/ft", "--task", "entry_type", "--data", "{d}/et.jsonl", "--max-length", "0"],
        "error: --max-length must be >= 2 ([CLS] and [SEP] included), got 0",
        needs_ft=True,
    ),
    Case(
        "evaluate-eval-fraction",
        "evaluate",
        ["{d}/ft", "--task", "entry_type", "--data", "{d}/et.jsonl", "--heldout", "--eval-fraction", "3"],
        "error: --eval-fraction must be in (0, 1), got 3.0",
        needs_ft=True,
    ),
    Case(
        "evaluate-heldout-without-case",
        "evaluate",
        ["{d}/ft", "--task", "entry_type", "--data", "{d}/nocase.jsonl", "--heldout"],
        "error: row 1 (and 4 more) has no `case` field: cannot split by case; give an eval file instead",
        needs_ft=True,
    ),
    Case(
        "evaluate-unreadable-record",
        "evaluate",
        ["{d}/ft_broken_record", "--task", "entry_type", "--data", "{d}/et.jsonl"],
        "error: unreadable fine-tune record {d}/ft_broken_record/docketbert_finetune.json (JSONDecodeError: "
        "Expecting property name enclosed in double quotes: line 1 column 2 (char 1))",
        needs_ft=True,
    ),
    # infer
    Case(
        "infer-output-is-the-input",
        "infer",
        [*INF, "--input", "{d}/entries.jsonl", "--output", "{d}/entries.jsonl"],
        "error: --output {d}/entries.jsonl is the input file {d}/entries.jsonl: it would be overwritten",
    ),
    Case(
        "infer-output-is-the-input-by-another-path",
        "infer",
        [*INF, "--input", "{d}/entries.jsonl", "--output", "{d}/no_yamls/../entries.jsonl"],
        "error: --output {d}/no_yamls/../entries.jsonl is the input file {d}/entries.jsonl: it would be overwritten",
    ),
    Case(
        "infer-model-missing",
        "infer",
        ["{d}/nomodel", "--input", "{d}/entries.jsonl", "--output", "{d}/p.jsonl", "--no-progress"],
        "error: {d}/nomodel has no config.json: not an exported model directory",
    ),
    Case(
        "infer-npy-for-predictions",
        "infer",
        [*INF, "--input", "{d}/entries.jsonl", "--output", "{d}/p.npy"],
        "error: .npy output holds embeddings only; use .jsonl or .parquet for predictions",
        needs_ft=True,
    ),
    Case(
        "infer-predict-without-head",
        "infer",
        ["{d}/init", "--task", "predict", "--input", "{d}/entries.jsonl", "--output", "{d}/p.jsonl", "--no-progress"],
        "error: {d}/init has no fine-tuned head; use --task embed",
    ),
    Case(
        "infer-input-missing",
        "infer",
        [*INF, "--input", "{d}/nope.jsonl", "--output", "{d}/p.jsonl"],
        "error: --input {d}/nope.jsonl does not exist",
    ),
    Case(
        "infer-input-is-a-directory",
        "infer",
        [*INF, "--input", "{d}", "--output", "{d}/p.jsonl"],
        "error: --input {d} is a directory, not a file",
        fault="directory-as-input-file",
    ),
    Case(
        "infer-input-is-dev-null",
        "infer",
        [*INF, "--input", "/dev/null", "--output", "{d}/p.jsonl"],
        "error: --input " + DEVNULL,
        fault="device-as-input-file",
    ),
    Case(
        "infer-output-under-a-file",
        "infer",
        [*INF, "--input", "{d}/entries.jsonl", "--output", "{d}/afile/p.jsonl"],
        "error: --output {d}/afile/p.jsonl: {d}/afile is a file, not a directory",
        fault="file-as-output-directory",
    ),
    Case(
        "infer-model-pickled",
        "infer",
        ["{d}/pk_ft", *INF[1:], "--input", "{d}/entries.jsonl", "--output", "{d}/p.jsonl"],
        "error: {d}/pk_ft/pytorch_model.bin " + PICKLE,
        needs_ft=True,
        fault="pickled-model",
    ),
    Case(
        "infer-model-pickle-named-safetensors",
        "infer",
        ["{d}/renamed_ft", *INF[1:], "--input", "{d}/entries.jsonl", "--output", "{d}/p.jsonl"],
        "error: {d}/renamed_ft/model.safetensors " + PICKLE,
        needs_ft=True,
        fault="pickled-model",
    ),
    Case(
        "infer-tokenizer-not-a-tokenizer",
        "infer",
        [*INF, "--input", "{d}/entries.jsonl", "--output", "{d}/p.jsonl", "--tokenizer", "{d}/faketok"],
        "error: " + FAKETOK,
        needs_ft=True,
        fault="not-a-tokenizer",
    ),
    Case(
        "infer-output-format",
        "infer",
        [*INF, "--input", "{d}/entries.jsonl", "--output", "{d}/p.csv"],
        "error: --output must end in .jsonl, .npy, .parquet (got p.csv)",
    ),
    Case(
        "infer-output-is-a-directory",
        "infer",
        [*INF, "--input", "{d}/entries.jsonl", "--output", "{d}/out.jsonl"],
        "error: --output {d}/out.jsonl is a directory",
    ),
    Case(
        "infer-token-budget-0",
        "infer",
        [*INF, "--input", "{d}/entries.jsonl", "--output", "{d}/p.jsonl", "--token-budget", "0"],
        "error: --token-budget must be >= 1, got 0",
    ),
    # train_tokenizer
    Case(
        "train_tokenizer-input-missing",
        "train_tokenizer",
        ["--input", "{d}/nope.jsonl", *TOK],
        "error: --input {d}/nope.jsonl does not exist",
    ),
    Case(
        "train_tokenizer-vocab-too-small",
        "train_tokenizer",
        ["--input", "{d}/entries.jsonl", "--output", "{d}/tk", "--vocab-size", "100"],
        "error: --vocab-size 100 is too small (at least 512: 256 bytes + merges)",
    ),
    Case(
        "train_tokenizer-no-entries",
        "train_tokenizer",
        ["--input", "{d}/empty.txt", *TOK],
        "error: no entries in {d}/empty.txt: nothing to train on",
    ),
    Case(
        "train_tokenizer-output-is-a-file",
        "train_tokenizer",
        ["--input", "{d}/entries.jsonl", "--output", "{d}/afile"],
        "error: --output " + NOT_A_DIR,
        fault="file-as-output-directory",
    ),
    Case(
        "train_tokenizer-output-under-a-file",
        "train_tokenizer",
        ["--input", "{d}/entries.jsonl", "--output", "{d}/afile/sub"],
        "error: --output " + UNDER_A_FILE,
        fault="file-as-output-directory",
    ),
    Case(
        "train_tokenizer-input-is-a-directory",
        "train_tokenizer",
        ["--input", "{d}/no_yamls", *TOK],
        "error: --input {d}/no_yamls is a directory, not a file",
        fault="directory-as-input-file",
    ),
    Case(
        "train_tokenizer-input-is-dev-null",
        "train_tokenizer",
        ["--input", "/dev/null", *TOK],
        "error: --input " + DEVNULL,
        fault="device-as-input-file",
    ),
    # to_mds: every input is checked before the tokenizer loads; the tokenizer before anything is written
    Case(
        "to_mds-input-missing",
        "to_mds",
        ["--input", "{d}/nope.jsonl", "--output", "{d}/mds_x", *TMDS],
        "error: input {d}/nope.jsonl does not exist",
    ),
    Case(
        "to_mds-input-is-a-directory",
        "to_mds",
        ["--input", "{d}/no_yamls", "--output", "{d}/mds_x", *TMDS],
        "error: input {d}/no_yamls is a directory, not a file",
        fault="directory-as-input-file",
    ),
    Case(
        "to_mds-input-is-dev-null",
        "to_mds",
        ["--input", "{d}/entries.jsonl", "/dev/null", "--output", "{d}/mds_x", *TMDS],
        "error: input " + DEVNULL,
        fault="device-as-input-file",
    ),
    Case(
        "to_mds-tokenizer-not-a-tokenizer",
        "to_mds",
        ["--input", "{d}/entries.jsonl", "--output", "{d}/mds_x", "--tokenizer", "{d}/faketok", "--no-progress"],
        "error: " + FAKETOK,
        fault="not-a-tokenizer",
    ),
    Case(
        "to_mds-output-is-a-file",
        "to_mds",
        ["--input", "{d}/entries.jsonl", "--output", "{d}/afile", *TMDS],
        "error: --output " + NOT_A_DIR,
        fault="file-as-output-directory",
    ),
    Case(
        "to_mds-output-under-a-file",
        "to_mds",
        ["--input", "{d}/entries.jsonl", "--output", "{d}/afile/sub", *TMDS],
        "error: --output " + UNDER_A_FILE,
        fault="file-as-output-directory",
    ),
    # study
    Case(
        "study-only-without-a-name",
        "study",
        ["--dry-run", "--only", "data.path=/x"],
        "error: --only needs at least one YAML stem or run name",
    ),
    Case(
        "study-unknown-name",
        "study",
        ["--dry-run", "--only", "no-such-run", "run_root={d}/runs"],
        "config error: --only 'no-such-run' is neither a YAML stem nor a run name of the study",
    ),
    Case(
        "study-yamls-missing",
        "study",
        ["--dry-run", "--yamls", "{d}/nope"],
        "error: --yamls {d}/nope is not a directory",
    ),
    Case(
        "study-no-yamls",
        "study",
        ["--dry-run", "--yamls", "{d}/no_yamls"],
        "config error: no run YAMLs in {d}/no_yamls (the study reads *.yaml but _*.yaml and tiny.yaml)",
    ),
    Case(
        "study-override-not-key-value",
        "study",
        ["--dry-run", "run_root={d}/runs", "oops"],
        "error: overrides must be key=value: oops",
    ),
    Case(
        "study-composer-missing",
        "study",
        ["--only", "scratch7m", "--composer", "{d}/no-composer", "run_root={d}/runs"],
        "error: --composer {d}/no-composer is not an executable (the study runs each run through it)",
    ),
    # report
    Case("report-runs-missing", "report", ["{d}/noruns"], "error: {d}/noruns is not a directory (it does not exist)"),
    Case(
        "report-out-is-a-file",
        "report",
        ["{d}", "--out", "{d}/afile"],
        "error: --out " + NOT_A_DIR,
        fault="file-as-output-directory",
    ),
    Case(
        "report-out-under-a-file",
        "report",
        ["{d}", "--out", "{d}/afile/sub"],
        "error: --out " + UNDER_A_FILE,
        fault="file-as-output-directory",
    ),
    Case(
        "report-template-is-a-directory",
        "report",
        ["{d}", "--out", "{d}/rep", "--template", "{d}/no_yamls"],
        "error: template {d}/no_yamls is a directory, not a file",
        fault="directory-as-input-file",
    ),
    Case(
        "report-template-is-dev-null",
        "report",
        ["{d}", "--out", "{d}/rep", "--template", "/dev/null"],
        "error: template " + DEVNULL,
        fault="device-as-input-file",
    ),
    Case(
        "report-template-missing",
        "report",
        ["{d}", "--out", "{d}/rep", "--template", "{d}/nope.md"],
        "error: template {d}/nope.md does not exist",
    ),
    Case(
        "report-finetune-not-a-directory",
        "report",
        ["{d}", "--out", "{d}/rep", "--finetune", "{d}/afile"],
        "error: --finetune {d}/afile is not a directory",
    ),
]


def _fill(text: str, d: Path) -> str:
    return text.format(d=d)


def _call(command: str, argv: list[str], capsys) -> tuple[int, str, str]:
    """(exit code, stdout + stderr, stderr) of one in-process command."""
    try:
        rc = COMMANDS[command](argv)
    except SystemExit as exit_:  # argparse's own errors
        rc = exit_.code
    captured = capsys.readouterr()
    return rc, captured.out + captured.err, captured.err


def test_the_table_is_large_enough():
    assert len(CASES) >= 80
    assert len({c.id for c in CASES}) == len(CASES)
    assert {c.command for c in CASES} == set(COMMANDS)
    assert {c.fault for c in CASES} - {""} == set(FAULT_CLASSES)
    for fault, commands in FAULT_CLASSES.items():
        covered = {c.command for c in CASES if c.fault == fault}
        assert covered == commands, f"{fault}: no case for {', '.join(sorted(commands - covered))}"


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_command_line(case: Case, files, request, capsys):
    if case.needs_ft:
        request.getfixturevalue("ft")
    capsys.readouterr()
    rc, both, err = _call(case.command, [_fill(a, files) for a in case.argv], capsys)
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in both
    assert rc == 2, both[-2000:]
    assert lines and lines[-1] == _fill(case.message, files)
    assert not (files / "x").exists(), "a finetune error must come before anything is written"
    assert not (files / "mds_x").exists(), "a to_mds error must come before anything is written"
    assert not (files / PICKLE_RAN).exists(), "a planted pickle was unpickled"


def test_infer_refuses_its_input_by_symlink_and_leaves_it_intact(files, capsys):
    link = files / "link.jsonl"
    link.unlink(missing_ok=True)
    link.symlink_to(files / "entries.jsonl")
    before = (files / "entries.jsonl").read_bytes()
    for output in (link, Path(os.path.relpath(files / "entries.jsonl"))):
        rc, both, err = _call("infer", [*_fill_all(INF, files), "--input", str(link), "--output", str(output)], capsys)
        assert rc == 2 and "Traceback" not in both
        assert err.strip() == f"error: --output {output} is the input file {link}: it would be overwritten"
    assert (files / "entries.jsonl").read_bytes() == before


def _fill_all(argv: list[str], d: Path) -> list[str]:
    return [_fill(a, d) for a in argv]


def test_infer_on_a_truncated_gz_is_one_line_and_leaves_no_output(files, ft, capsys):
    out = files / "trunc_out.jsonl"
    argv = [*_fill_all(INF, files), "--input", str(files / "trunc.jsonl.gz"), "--output", str(out)]
    rc, both, err = _call("infer", argv, capsys)
    lines = [line for line in err.splitlines() if line.strip()]
    assert rc == 2 and "Traceback" not in both
    assert lines[-1].startswith("error: ") and "trunc.jsonl.gz" in lines[-1], lines[-1]
    assert not out.exists() and not infer_job.partial_path(out).exists()


def test_train_tokenizer_on_a_truncated_gz_is_one_line(files, capsys):
    rc, both, err = _call("train_tokenizer", ["--input", str(files / "trunc.jsonl.gz"), *_fill_all(TOK, files)], capsys)
    lines = [line for line in err.splitlines() if line.strip()]
    assert rc == 2 and "Traceback" not in both and lines[-1].startswith("error: ")


@pytest.mark.integration
def test_a_killed_infer_leaves_no_complete_looking_output(files, ft, capsys):
    """An infer killed mid-run (SIGKILL: no cleanup runs) leaves only OUTPUT.partial; the output's own name appears
    only when the run is whole, and a re-run gives exactly the uninterrupted result (for .jsonl and .npy)."""
    import signal
    import time

    inputs = files / "many.jsonl"
    inputs.write_text("".join(json.dumps({"text": f"ORDER granting motion {i} " * 4}) + "\n" for i in range(KILL_ROWS)))

    def argv(out: Path, task: str) -> list[str]:
        args = [*_fill_all(INF, files), "--input", str(inputs), "--output", str(out), "--task", task]
        return [*args, "--chunk-size", "32", "--threads", "1"]

    for suffix, task in ((".jsonl", "predict"), (".npy", "embed")):
        out, whole = files / f"killed{suffix}", files / f"whole{suffix}"
        proc = subprocess.Popen([sys.executable, "-m", "docketbert.infer", *argv(out, task)], cwd=REPO)
        partial = infer_job.partial_path(out)
        deadline = time.monotonic() + 120
        while not (partial.exists() and partial.stat().st_size > 0) and proc.poll() is None:
            assert time.monotonic() < deadline, "infer wrote nothing"
            time.sleep(0.02)
        assert proc.poll() is None, "infer finished before it could be killed: give it more entries"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert not out.exists() and partial.exists()
        assert infer_job.main(argv(out, task)) == 0
        assert out.exists() and not partial.exists()
        assert infer_job.main(argv(whole, task)) == 0
        assert out.read_bytes() == whole.read_bytes()
        capsys.readouterr()


KILL_ROWS = 2000


@pytest.mark.integration
def test_subprocess_command_lines(files, ft):
    """As a user types them: `python -m ...` and the data_prep script print one line and exit with 2 (the rest of the
    table runs in-process: each subprocess pays the imports again). A planted pickle is refused by docketbert's own
    line, not torch's."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    cases = [
        (
            [
                "-m",
                "docketbert.infer",
                *_fill_all(INF, files),
                "--input",
                f"{files}/entries.jsonl",
                "--output",
                f"{files}/entries.jsonl",
            ],
            f"error: --output {files}/entries.jsonl is the input file {files}/entries.jsonl: it would be overwritten",
        ),
        (
            ["data_prep/train_tokenizer.py", "--input", f"{files}/nope.jsonl", "--output", f"{files}/tk"],
            f"error: --input {files}/nope.jsonl does not exist",
        ),
        (
            ["-m", "docketbert.study", "--yamls", f"{files}/nope", "--dry-run"],
            f"error: --yamls {files}/nope is not a directory",
        ),
        (
            ["-m", "docketbert.infer", f"{files}/pk_ft", *INF[1:], "--input", f"{files}/entries.jsonl"]
            + ["--output", f"{files}/p.jsonl"],
            f"error: {files}/pk_ft/pytorch_model.bin {PICKLE}",
        ),
    ]
    for argv, message in cases:
        proc = subprocess.run([sys.executable, *argv], cwd=REPO, capture_output=True, text=True, env=env, timeout=300)
        lines = [line for line in proc.stderr.splitlines() if line.strip()]
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
        assert lines[-1] == message
    assert not (files / PICKLE_RAN).exists()
