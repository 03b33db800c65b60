"""data_prep/to_mds.py end to end: real MDSWriter shards read back with StreamingDataset, real tokenizers."""

from __future__ import annotations

import bz2
import gzip
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from tiny_models import to_mds_args

from docketbert.core.text import clean_text, normalize_for_dedup
from docketbert.data.to_mds_job import eval_side, main

REPO = Path(__file__).resolve().parents[2]


def read_split(path: Path) -> list[dict]:
    """Every sample of one split, in order. Each path must be read only once per process (shared memory)."""
    from streaming import StreamingDataset

    from docketbert.data.shared_memory import registering

    with registering():
        ds = StreamingDataset(local=str(path), batch_size=1, shuffle=False)
    return [ds[i] for i in range(len(ds))]


def read_output(out: Path) -> dict[str, list[dict]]:
    return {split: read_split(out / split) for split in ("train", "eval")}


def entry_keys(samples: list[dict]) -> list[tuple]:
    return [(s["docket"], tuple(s["input_ids"].tolist())) for s in samples]


@pytest.fixture(scope="module")
def tokenizer(tokenizer_dir):
    from docketbert.core.tokenizer import load_tokenizer

    return load_tokenizer(str(tokenizer_dir))


@pytest.fixture(scope="module")
def real(mds_dir) -> dict[str, list[dict]]:
    return read_output(mds_dir)


# ------------------------------------------------------------------- the entry corpus (real or synthetic)


def test_corpus_roundtrip(mds_dir, real, corpus, corpus_rows, tokenizer):
    stats = json.loads((mds_dir / "stats.json").read_text())
    assert stats["rows_read"] == corpus_rows
    assert stats["id_dtype"] == "uint16" and stats["vocab_size"] == len(tokenizer) == 2048
    # Expected entries, recomputed from the source: clean, dedup (first wins), split by case.
    expected: dict[str, list[tuple[str, str]]] = {"train": [], "eval": []}
    seen = set()
    with gzip.open(corpus, "rt") as f:
        for line in f:
            obj = json.loads(line)
            text = clean_text(obj["text"])
            if not text or normalize_for_dedup(text) in seen:
                continue
            seen.add(normalize_for_dedup(text))
            expected["eval" if eval_side(obj["case"], 0.1) else "train"].append((obj["case"], text))
    truncated = 0
    for split in ("train", "eval"):
        samples = real[split]
        assert len(samples) == stats["splits"][split]["entries"] == len(expected[split]) > 0
        assert [s["docket"] for s in samples] == [c for c, _ in expected[split]]
        texts = tokenizer.batch_decode([s["input_ids"] for s in samples], skip_special_tokens=True)
        for sample, text, (_, want) in zip(samples, texts, expected[split]):
            ids = sample["input_ids"]
            assert ids.dtype == np.uint16
            assert sample["length"] == len(ids) <= 256
            assert ids[0] == tokenizer.cls_token_id and ids[-1] == tokenizer.sep_token_id
            if len(ids) < 256:
                assert text == want
            else:
                assert want.startswith(text)
                truncated += text != want  # exactly 256 tokens may also be a whole entry
        assert stats["splits"][split]["tokens"] == sum(int(s["length"]) for s in samples)
        assert stats["splits"][split]["dockets"] == len({s["docket"] for s in samples})
        lengths = [int(s["length"]) for s in samples]
        assert stats["splits"][split]["length"]["max"] == max(lengths)
        assert stats["splits"][split]["length"]["p50"] == int(np.percentile(lengths, 50, method="inverted_cdf"))
    assert stats["entries"] == len(real["train"]) + len(real["eval"])
    assert stats["rows_read"] - sum(stats["dropped"].values()) == stats["entries"]
    assert not {s["docket"] for s in real["train"]} & {s["docket"] for s in real["eval"]}
    assert stats["truncated"] == {"chars": 0, "tokens": truncated} and truncated > 0


@pytest.mark.integration
def test_two_workers_give_the_same_shards(mds_dir, real, corpus, tokenizer_dir, tmp_path):
    out = tmp_path / "w2"
    rc = main(to_mds_args(corpus, out, tokenizer_dir, workers=2))
    assert rc == 0
    got = read_output(out)
    for split in ("train", "eval"):
        assert entry_keys(got[split]) == entry_keys(real[split])
    drop_timing = lambda s: {k: v for k, v in s.items() if k != "seconds_last_run"}  # noqa: E731
    assert drop_timing(json.loads((out / "stats.json").read_text())) == drop_timing(
        json.loads((mds_dir / "stats.json").read_text())
    )


# --------------------------------------------------------------------------------- a synthetic CSV file

GIANT = "word " * 5000  # 25,000 characters: over --max-chars 20000, and over 64 tokens

CSV_ROWS = [
    b"id,docket_id,description,date_filed,entry_number",
    b'1,10,"ORDER granting &amp; motion\nto dismiss",2020-01-01,1',  # multi-line, HTML entity
    b'2,10,"order GRANTING &amp; motion to   dismiss",2020-01-02,2',  # duplicate (case, whitespace)
    b'3,11,"",2020-01-03,3',  # empty
    b'4,11,"  \t ",2020-01-03,4',  # empty once cleaned
    b'5,11,"too","many",fields,2020-01-04,5',  # malformed
    b'6,12,"Notice with bad bytes \xff\xfe here",2020-01-05,6',  # invalid UTF-8
    b'7,12,"Minute entry with a NUL\x00 byte",2020-01-06,7',  # NUL
    b'8,13,"He said \\"hello\\" and ""bye""",2020-01-07,8',  # both quote escapes
    b'9,,"Entry without a docket",2020-01-08,9',  # no docket id
    b"10,14," + GIANT.encode() + b",2020-01-09,10",  # gigantic
    b'11,15,"Doc 5 &amp;amp; attachments",2020-01-10,11',  # double-escaped entity
    b'12,10,"ORDER  granting &amp; MOTION to dismiss",2020-01-11,12',  # duplicate again
]
CSV_EXPECTED = [
    "ORDER granting & motion to dismiss",
    "Notice with bad bytes \ufffd\ufffd here",
    "Minute entry with a NUL byte",
    'He said "hello" and "bye"',
    "Entry without a docket",
    "Doc 5 & attachments",
]


@pytest.mark.parametrize("compression", ["", ".gz", ".bz2"])
def test_synthetic_csv(tmp_path, tokenizer_dir, tokenizer, compression):
    data = b"\n".join(CSV_ROWS) + b"\n"
    path = tmp_path / f"docket-entries.csv{compression}"
    path.write_bytes({"": data, ".gz": gzip.compress(data), ".bz2": bz2.compress(data)}[compression])
    out = tmp_path / "out"
    rc = main(
        [
            "--input",
            str(path),
            "--output",
            str(out),
            "--tokenizer",
            str(tokenizer_dir),
            "--max-seq-len",
            "64",
            "--eval-fraction",
            "0.3",
            "--workers",
            "1",
            "--no-progress",
            "--csv-escape",  # row 8 mixes both quote escapes, which no one export does: auto cannot tell
            "backslash",
        ]
    )
    assert rc == 0
    stats = json.loads((out / "stats.json").read_text())
    assert stats["rows_read"] == stats["inputs"][0]["rows_read"] == 12
    assert stats["inputs"][0]["csv_escape"] == "backslash"
    assert stats["dropped"] == {
        "empty": 2,
        "malformed_csv_row": 1,
        "invalid_json": 0,
        "invalid_unicode": 0,
        "missing_text": 0,
        "duplicate": 2,
    }
    assert (stats["invalid_utf8_rows"], stats["nul_rows"], stats["entries_without_docket"]) == (1, 1, 1)
    assert stats["truncated"] == {"chars": 1, "tokens": 1}
    assert stats["entries"] == 7
    got = read_output(out)
    samples = got["train"] + got["eval"]
    texts = tokenizer.batch_decode([s["input_ids"] for s in samples], skip_special_tokens=True)
    giant = [t for t in texts if t.startswith("word word")]
    assert len(giant) == 1 and GIANT.strip().startswith(giant[0])
    assert [s["length"] for s in samples if s["length"] == 64] == [64]
    assert sorted(t for t in texts if not t.startswith("word")) == sorted(CSV_EXPECTED)
    dockets = {clean: s["docket"] for clean, s in zip(texts, samples)}
    assert dockets["ORDER granting & motion to dismiss"] == "10"
    assert dockets["Entry without a docket"].startswith("entry:")  # a stand-in docket
    for split in ("train", "eval"):
        assert all(eval_side(s["docket"], 0.3) == (split == "eval") for s in got[split])
        assert stats["splits"][split]["entries"] == len(got[split])


def test_missing_column_is_a_clear_error(tmp_path, capsys):
    path = tmp_path / "entries.csv"
    path.write_text("id,docket,text\n1,2,hello\n")
    rc = main(["--input", str(path), "--output", str(tmp_path / "out"), "--tokenizer", "unused", "--no-progress"])
    err = capsys.readouterr().err
    assert rc != 0
    assert "'description'" in err and "id, docket, text" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------------- interruption, re-runs


@pytest.mark.integration
def test_interrupted_run_resumes_to_the_same_entries(tmp_path, corpus, corpus_rows, tokenizer_dir, capsys):
    n_parts = -(-corpus_rows // 700)
    assert n_parts >= 20  # enough parts that the kill lands mid-run
    # --max-seq-len 1024: no two entries cut alike
    common = [
        "--input",
        str(corpus),
        "--tokenizer",
        str(tokenizer_dir),
        "--docket-key",
        "case",
        "--eval-fraction",
        "0.2",
        "--max-seq-len",
        "1024",
        "--workers",
        "1",
        "--no-progress",
    ]
    out = tmp_path / "killed"
    proc = subprocess.Popen(
        [
            sys.executable,
            str(REPO / "data_prep" / "to_mds.py"),
            *common,
            "--output",
            str(out),
            "--rows-per-part",
            "700",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.time() + 180
        while not (out / "parts" / "part-00000").exists():
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.time() < deadline, "the first part was never finished"
            time.sleep(0.01)
        assert proc.poll() is None, "the run finished before it could be interrupted"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    assert not (out / "stats.json").exists()
    finished = sorted(p.name for p in (out / "parts").iterdir())
    assert 1 <= len(finished) < n_parts - 1

    # Re-run: finishes the job. The reference is an uninterrupted run with other part sizes.
    assert main([*common, "--output", str(out), "--rows-per-part", "700"]) == 0
    assert "resuming" in capsys.readouterr().out
    assert not (out / ".tmp").exists()
    ref = tmp_path / "reference"
    assert main([*common, "--output", str(ref)]) == 0
    resumed, reference = read_output(out), read_output(ref)
    stats, ref_stats = (json.loads((d / "stats.json").read_text()) for d in (out, ref))
    assert stats["parts"] == n_parts and ref_stats["parts"] == 1
    for split in ("train", "eval"):
        keys = entry_keys(resumed[split])
        assert keys == entry_keys(reference[split])  # same entries, same order
        assert len(set(keys)) == len(keys) == stats["splits"][split]["entries"]
        assert stats["splits"][split] == ref_stats["splits"][split]
    assert stats["dropped"] == ref_stats["dropped"] and stats["rows_read"] == corpus_rows

    # A finished output is not redone; other options into it are refused.
    before = (out / "stats.json").stat().st_mtime_ns
    assert main([*common, "--output", str(out), "--rows-per-part", "700"]) == 0
    assert "already done" in capsys.readouterr().out
    assert (out / "stats.json").stat().st_mtime_ns == before
    assert main([*common, "--output", str(out), "--rows-per-part", "700", "--max-seq-len", "64"]) == 2  # last wins
    assert "--overwrite" in capsys.readouterr().err


def test_eval_size_sets_the_fraction_from_a_row_count(tmp_path, tokenizer_dir):
    path = tmp_path / "entries.txt"
    path.write_text("".join(f"entry number {i}\n" for i in range(400)))
    out = tmp_path / "out"
    assert (
        main(
            [
                "--input",
                str(path),
                "--output",
                str(out),
                "--tokenizer",
                str(tokenizer_dir),
                "--eval-size",
                "100",
                "--workers",
                "1",
                "--no-progress",
            ]
        )
        == 0
    )
    stats = json.loads((out / "stats.json").read_text())
    assert stats["eval_fraction"] == 0.25 and stats["eval_size"] == 100
    assert stats["entries_without_docket"] == 400  # plain text: every entry is its own docket
    assert 60 <= stats["splits"]["eval"]["entries"] <= 140
    assert stats["splits"]["eval"]["dockets"] == stats["splits"]["eval"]["entries"]


def test_help_explains_the_options(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    for flag in (
        "--input",
        "--output",
        "--format",
        "--text-column",
        "--docket-column",
        "--no-csv-escape",
        "--csv-escape",
        "--csv-max-record-chars",
        "--table",
        "--id-column",
        "--query",
        "--with-recap-descriptions",
        "postgresql://",
        "PGPASSWORD",
        "--strict",
        "--text-key",
        "--docket-key",
        "--tokenizer",
        "--max-seq-len",
        "--max-chars",
        "--workers",
        "--eval-fraction",
        "--eval-size",
        "--rows-per-part",
        "--overwrite",
        "--no-progress",
        "Example",
    ):
        assert flag in text


# ---------------------------------------------------------------------------- faults: inputs and workers


def _text_args(path: Path, out: Path, tokenizer_dir: Path, *extra: str) -> list[str]:
    return ["--input", str(path), "--output", str(out), "--tokenizer", str(tokenizer_dir), "--workers", "1",
            "--no-progress", *extra]  # fmt: skip


def test_a_truncated_gz_is_one_line_and_leaves_nothing_half_written(tmp_path, tokenizer_dir, capsys):
    data = gzip.compress("".join(f'{{"text": "entry {i}", "case": "c{i % 9}"}}\n' for i in range(12000)).encode())
    path = tmp_path / "entries.jsonl.gz"
    path.write_bytes(data[: len(data) * 2 // 3])
    out = tmp_path / "out"
    assert main(_text_args(path, out, tokenizer_dir, "--rows-per-part", "2000")) == 2
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1
    assert "entries.jsonl.gz: the .gz file is truncated or corrupt" in err
    assert not (out / ".tmp").exists() and not (out / "stats.json").exists()
    assert len(list((out / "parts").iterdir())) >= 1  # the parts before the damage are kept
    # the file fetched again: it differs, so the old parts are refused, and --overwrite redoes them
    path.write_bytes(data)
    assert main(_text_args(path, out, tokenizer_dir, "--rows-per-part", "2000")) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert main(_text_args(path, out, tokenizer_dir, "--rows-per-part", "2000", "--overwrite")) == 0
    assert json.loads((out / "stats.json").read_text())["rows_read"] == 12000


def test_an_input_changed_in_place_is_refused(tmp_path, tokenizer_dir, capsys):
    path = tmp_path / "entries.txt"
    lines = [f"entry number {i:04d}\n" for i in range(500)]
    path.write_text("".join(lines))
    out = tmp_path / "out"
    assert main(_text_args(path, out, tokenizer_dir, "--rows-per-part", "100")) == 0
    manifest = json.loads((out / "manifest.json").read_text())["inputs"][0]
    assert {"size", "mtime_ns", "head_tail_blake2b"} <= manifest.keys()
    for changed in (
        "".join(lines).replace("entry number 0007", "entry number 7777"),  # one row edited, same size
        "".join(lines[250:] + lines[:250]),  # the rows reordered
    ):
        path.write_text(changed)
        os.utime(path, ns=(manifest["mtime_ns"], manifest["mtime_ns"]))  # even with the old mtime
        assert main(_text_args(path, out, tokenizer_dir, "--rows-per-part", "100")) == 2
        err = capsys.readouterr().err
        assert "other inputs" in err and "--overwrite" in err and "Traceback" not in err


def test_an_empty_split_warns_and_fails_with_strict(tmp_path, tokenizer_dir, capsys):
    path = tmp_path / "entries.txt"
    path.write_text("".join(f"entry number {i}\n" for i in range(50)))
    out = tmp_path / "out"
    assert main(_text_args(path, out, tokenizer_dir, "--eval-fraction", "0")) == 0
    assert "warning: the eval split is empty (0 entries of 50)" in capsys.readouterr().err
    assert main(_text_args(path, out, tokenizer_dir, "--eval-fraction", "0", "--strict")) == 3
    assert "error: the eval split is empty" in capsys.readouterr().err
    assert main(_text_args(path, tmp_path / "all_eval", tokenizer_dir, "--eval-fraction", "1", "--strict")) == 3
    assert "the train split is empty" in capsys.readouterr().err


def test_a_lone_surrogate_is_counted_not_fatal(tmp_path, tokenizer_dir):
    path = tmp_path / "entries.jsonl"
    path.write_text('{"text": "good entry", "case": "a"}\n{"text": "bad \\ud800 entry", "case": "b"}\n')
    out = tmp_path / "out"
    assert main(_text_args(path, out, tokenizer_dir)) == 0
    stats = json.loads((out / "stats.json").read_text())
    assert stats["dropped"]["invalid_unicode"] == 1 and stats["entries"] == 1


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def _cmdline(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


@pytest.mark.integration
def test_a_dead_worker_fails_the_run_and_the_rerun_resumes(tmp_path, corpus, tokenizer_dir, real, capsys):
    out = tmp_path / "out"
    args = [*to_mds_args(corpus, out, tokenizer_dir, workers=2), "--rows-per-part", "4000"]
    log = tmp_path / "stderr.txt"
    pid = os.fork()
    if pid == 0:  # a child running the command, as a user's shell would; the test kills one of its workers
        code = 1
        try:
            os.dup2(os.open(log, os.O_WRONLY | os.O_CREAT), 2)
            sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115 - not pytest's capture: the file
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115
            code = main(args)
        finally:
            sys.stderr.flush()
            os._exit(code)
    try:
        deadline = time.time() + 300
        workers: list[int] = []
        while not workers or not (out / "parts" / "part-00000").exists():
            workers = [c for c in _children(pid) if "spawn_main" in _cmdline(c)]
            assert time.time() < deadline, "no worker and no finished part"
            assert os.waitpid(pid, os.WNOHANG) == (0, 0), "the run ended before a worker could be killed"
            time.sleep(0.05)
        os.kill(workers[0], signal.SIGKILL)
        while (status := os.waitpid(pid, os.WNOHANG)) == (0, 0):
            assert time.time() < deadline, "the run hangs after its worker died"
            time.sleep(0.1)
        pid = 0
        assert os.WIFEXITED(status[1]) and os.WEXITSTATUS(status[1]) == 1
    finally:
        if pid:
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
    err = log.read_text()
    assert "a tokenizer worker process died" in err and "Traceback" not in err
    assert not (out / "stats.json").exists()
    assert main([*args[:-4], "--workers", "1", "--rows-per-part", "4000"]) == 0  # the re-run resumes
    assert "resuming" in capsys.readouterr().out
    got = read_output(out)
    for split in ("train", "eval"):
        assert entry_keys(got[split]) == entry_keys(real[split])
