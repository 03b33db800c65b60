"""to_mds into object storage: a real S3-compatible server (moto's, over HTTP, tests/s3_server.py), reached as S3
is, through S3_ENDPOINT_URL. Killed at random parts and re-run, the remote ends with the entries and stats of an
uninterrupted local run; the refusals of a remote are one line."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from s3_server import S3Server, s3_environment
from tiny_models import to_mds_args

from docketbert.data.to_mds_job import main

pytestmark = pytest.mark.integration  # a server, and to_mds runs killed in subprocesses

REPO = Path(__file__).resolve().parents[2]
ROWS_PER_PART = 700


def read_split(local: Path, remote: str | None = None) -> list[tuple]:
    """(docket, input ids) of every sample of one split: a local one, or a remote one streamed into `local`."""
    from streaming import StreamingDataset

    from docketbert.data.shared_memory import registering

    with registering():
        ds = StreamingDataset(remote=remote, local=str(local), batch_size=1, shuffle=False)
    return [(s["docket"], tuple(s["input_ids"].tolist())) for s in (ds[i] for i in range(len(ds)))]


def test_killed_three_times_the_remote_equals_a_local_run(s3, mds_dir, corpus, corpus_rows, tokenizer_dir, tmp_path):
    from docketbert.core.object_store import Store

    n_parts = -(-corpus_rows // ROWS_PER_PART)
    assert n_parts >= 10
    uri = f"s3://{s3.new_bucket()}/shards/v1"
    staging = tmp_path / "staging"
    args = [*to_mds_args(corpus, Path("UNUSED"), tokenizer_dir), "--rows-per-part", str(ROWS_PER_PART)]
    args[args.index("--output") + 1] = uri
    args += ["--local", str(staging)]
    store = Store(uri)
    rng = random.Random()
    seed = rng.randrange(1 << 30)
    rng.seed(seed)
    points = sorted(rng.sample(range(1, n_parts - 1), 3))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    for point in points:  # kill right after part `point` is committed remotely: the next part's upload is cut
        proc = subprocess.Popen(
            [sys.executable, str(REPO / "data_prep" / "to_mds.py"), *args],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            deadline = time.time() + 300
            while not store.exists("parts", f"part-{point:05d}", "stats.json"):
                assert proc.poll() is None, (seed, proc.stderr.read().decode()[-2000:])
                assert time.time() < deadline, (seed, f"part {point} never reached the remote")
                time.sleep(0.01)
            os.kill(proc.pid, signal.SIGKILL)
        finally:
            proc.kill()
            proc.wait()
        assert not store.exists("stats.json"), seed
    assert main(args) == 0
    stats = json.loads(store.read_text("stats.json"))
    want = json.loads((mds_dir / "stats.json").read_text())
    assert stats["parts"] == n_parts and stats["rows_read"] == corpus_rows == want["rows_read"]
    for key in ("entries", "dropped", "splits", "truncated", "vocab_size"):
        assert stats[key] == want[key], (seed, points, key)
    for split in ("train", "eval"):
        got = read_split(tmp_path / "cache" / split, remote=f"{uri}/{split}")
        assert got == read_split(mds_dir / split), (seed, points, split)
    # the staging folder keeps no uploaded shard; a finished remote is not redone
    assert not [p for p in staging.rglob("*.mds*")]
    assert main(args) == 0
    assert json.loads(store.read_text("stats.json")) == stats


def test_a_rerun_from_an_empty_staging_folder_resumes_from_the_remote(s3, corpus, tokenizer_dir, tmp_path, capsys):
    """A lost node: the staging folder is gone, and the remote alone says where the job stands."""
    import shutil

    from docketbert.core.object_store import Store

    uri = f"s3://{s3.new_bucket()}/mds"
    staging = tmp_path / "staging"
    head = tmp_path / "head.jsonl"
    with __import__("gzip").open(corpus, "rt") as f:
        head.write_text("".join(line for _, line in zip(range(3000), f)))
    args = [*to_mds_args(head, Path("UNUSED"), tokenizer_dir), "--rows-per-part", "1000", "--local", str(staging)]
    args[args.index("--output") + 1] = uri
    assert main(args) == 0
    stats = json.loads(Store(uri).read_text("stats.json"))
    Store(uri).delete("stats.json")
    Store(uri).delete_under("parts/part-00002")
    shutil.rmtree(staging)
    capsys.readouterr()
    assert main(args) == 0
    assert "resuming" in capsys.readouterr().out
    again = json.loads(Store(uri).read_text("stats.json"))
    assert {k: v for k, v in again.items() if k != "seconds_last_run"} == {
        k: v for k, v in stats.items() if k != "seconds_last_run"
    }


def test_remote_refusals_are_one_line(s3, tmp_path, tokenizer_dir, capsys):
    text = tmp_path / "e.txt"
    text.write_text("ORDER granting motion\n")
    base = ["--input", str(text), "--tokenizer", str(tokenizer_dir), "--no-progress", "--workers", "1"]
    bucket = s3.new_bucket()
    cases = {
        f"s3://missing-{bucket}/x": "does not exist",
        "s3://KEY:SECRET@bucket/x": "holds credentials",
        "gs://bucket/x": "only s3://",
    }
    for uri, words in cases.items():
        assert main([*base, "--output", uri]) == 2
        err = capsys.readouterr().err.strip()
        assert words in err and len(err.splitlines()) == 1, err
    saved = {k: os.environ.pop(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    try:
        assert main([*base, "--output", f"s3://{bucket}/x"]) == 2
    finally:
        os.environ.update(saved)
    err = capsys.readouterr().err.strip()
    assert "no S3 credentials" in err and len(err.splitlines()) == 1, err
    with pytest.raises(SystemExit) as exit_info:
        main([*base, "--output", str(tmp_path / "local"), "--local", str(tmp_path / "staging")])
    assert exit_info.value.code == 2
    assert "--local is the staging folder of a remote" in capsys.readouterr().err


def test_access_denied_is_one_line(tmp_path, tokenizer_dir, capsys):
    server = S3Server(tmp_path, auth=True).start()  # moto checks keys: the test's are unknown to it
    try:
        with s3_environment(server):
            text = tmp_path / "e.txt"
            text.write_text("ORDER granting motion\n")
            argv = ["--input", str(text), "--tokenizer", str(tokenizer_dir), "--output", "s3://bucket/x"]
            assert main(argv) == 2
    finally:
        server.stop()
    err = capsys.readouterr().err.strip()
    assert "access denied" in err and len(err.splitlines()) == 1, err
