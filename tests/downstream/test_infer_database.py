"""`python -m docketbert.infer` from a real PostgreSQL server (tests/postgres_server.py) with CourtListener's
search_docketentry, into a table of the same server: the file path's predictions row for row, empty texts counted
and never labelled, a SIGKILL and a server lost mid-run resumed to the uninterrupted table, a nightly re-run
labelling only the new rows, two processes (`composer -n 2`) giving the one-process table, and every refusal in one
line."""

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
from postgres_server import COURTLISTENER_SCHEMA, PASSWORD, TRICKY, running_server
from tiny_models import REPO, TINY_SHAPE

from docketbert.downstream.infer_job import main

pytestmark = pytest.mark.integration  # a PostgreSQL server or several processes

DB = "labels"
LABELS = ["motion", "order", "notice"]
CHUNK = ["--chunk-size", "4"]  # hundreds of chunks: a kill or a lost server lands mid-run


@pytest.fixture(scope="module")
def pg():
    with running_server() as server:
        yield server


@pytest.fixture(scope="module")
def entries(pg) -> dict[int, str | None]:
    """The database: synthetic dockets and the tricky rows (NULL, empty and whitespace-only texts among them)."""
    from docketbert.data.synthetic.database import fill_courtlistener_tables

    pg.create_database(DB)
    with pg.admin(DB) as conn:
        conn.execute(COURTLISTENER_SCHEMA)
        fill_courtlistener_tables(conn, num_dockets=60, seed=5, recap=False)
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO search_docketentry (id, docket_id, description) VALUES (%s, %s, %s)",
                [(5_000_000 + i, d, t) for i, (d, t) in enumerate(TRICKY)],
            )
        conn.execute("ANALYZE search_docketentry")
        return dict(conn.execute("SELECT id, description FROM search_docketentry ORDER BY id").fetchall())


@pytest.fixture(scope="module")
def classifier(tmp_path_factory, tokenizer_dir) -> Path:
    """A tiny random entry-type classifier (a sequence head over three labels) with its tokenizer."""
    import torch
    from transformers import ModernBertConfig, ModernBertForSequenceClassification

    from docketbert.core.tokenizer import load_tokenizer

    tokenizer = load_tokenizer(str(tokenizer_dir))
    config = ModernBertConfig(
        **TINY_SHAPE,
        num_hidden_layers=2,
        vocab_size=len(tokenizer),
        pad_token_id=tokenizer.pad_token_id,
        **{f"{t}_token_id": tokenizer.convert_tokens_to_ids(getattr(tokenizer, f"{t}_token")) for t in ("cls", "sep")},
        bos_token_id=tokenizer.cls_token_id,
        eos_token_id=tokenizer.sep_token_id,
        num_labels=3,
        id2label=dict(enumerate(LABELS)),
        label2id={v: i for i, v in enumerate(LABELS)},
    )
    torch.manual_seed(0)
    out = tmp_path_factory.mktemp("infer_db") / "classifier"
    ModernBertForSequenceClassification(config).save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def table_url(pg, table: str) -> str:
    return f"{pg.url(dbname=DB)}?table={table}"


def infer_argv(pg, model: Path, table: str, *extra: str) -> list[str]:
    return [str(model), "--input", pg.url(dbname=DB), "--output", table_url(pg, table), "--no-progress",
            "--device", "cpu", "--threads", "1", *CHUNK, *extra]  # fmt: skip


def rows_of(pg, table: str) -> dict[int, tuple]:
    with pg.admin(DB) as conn:
        rows = conn.execute(f"SELECT entry_id, model, label, score, prediction, embedding FROM {table}").fetchall()
    return {r[0]: r[1:] for r in rows}


def labelled(entries: dict[int, str | None]) -> list[int]:
    return [i for i, t in entries.items() if t is not None and t.strip()]


def summary_of(stderr: str) -> dict:
    return json.loads([line for line in stderr.strip().splitlines() if line.startswith("{")][-1])


@pytest.fixture(scope="module")
def reference(pg, entries, classifier) -> dict[int, tuple]:
    """An uninterrupted run into table `reference`."""
    assert main(infer_argv(pg, classifier, "reference")) == 0
    return rows_of(pg, "reference")


def test_table_holds_the_file_paths_predictions_row_for_row(pg, entries, classifier, reference, tmp_path, capsys):
    ids = labelled(entries)
    assert sorted(reference) == ids  # every non-empty entry, no empty one
    assert {5_000_007, 5_000_008, 5_000_009}.isdisjoint(reference)  # the tricky NULL, '' and whitespace-only rows
    texts = tmp_path / "texts.jsonl"
    texts.write_text("".join(json.dumps({"text": entries[i]}) + "\n" for i in ids))
    out = tmp_path / "preds.jsonl"
    argv = [str(classifier), "--input", str(texts), "--output", str(out), "--no-progress", "--device", "cpu"]
    assert main([*argv, "--threads", "1", *CHUNK]) == 0
    from_file = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(from_file) == len(ids)
    for entry_id, row in zip(ids, from_file):
        model, label, score, prediction, embedding = reference[entry_id]
        assert label == row["label"] and embedding is None, entry_id
        assert score == pytest.approx(row["score"], abs=1e-5)
        assert prediction["probabilities"] == pytest.approx(row["probabilities"], abs=1e-5)
    assert len({r[0] for r in reference.values()}) == 1  # one fingerprint: weights and mode


def test_a_rerun_labels_only_new_rows_and_since_id_starts_later(pg, entries, classifier, reference, capsys):
    capsys.readouterr()
    assert main(infer_argv(pg, classifier, "reference")) == 0  # nothing new
    assert summary_of(capsys.readouterr().err)["read"] == 0
    new = {6_000_000 + i: f"ORDER granting motion number {i}" for i in range(5)} | {6_000_010: "   "}
    with pg.admin(DB) as conn:
        conn.cursor().executemany(
            "INSERT INTO search_docketentry (id, docket_id, description) VALUES (%s, 1, %s)", list(new.items())
        )
    try:
        assert main(infer_argv(pg, classifier, "reference")) == 0
        summary = summary_of(capsys.readouterr().err)
        assert (summary["read"], summary["labelled"], summary["skipped_empty"]) == (6, 5, 1), summary
        after = rows_of(pg, "reference")
        assert set(after) == set(reference) | set(list(new)[:5])
        assert all(after[i] == reference[i] for i in reference)  # the old rows untouched
        assert main(infer_argv(pg, classifier, "since", "--since-id", "5999999")) == 0
        assert set(rows_of(pg, "since")) == set(list(new)[:5])
    finally:
        with pg.admin(DB) as conn:
            conn.execute("DELETE FROM search_docketentry WHERE id >= 6000000")
            conn.execute("DELETE FROM reference WHERE entry_id >= 6000000")


def _start(argv: list[str], log: Path) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PGPASSWORD": PASSWORD}
    return subprocess.Popen(
        [sys.executable, "-m", "docketbert.infer", *argv], cwd=REPO, env=env, stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )  # fmt: skip


def _committed(pg, table: str) -> int:
    """Rows of `table` committed so far."""
    with pg.admin(DB) as conn:
        exists = conn.execute("SELECT to_regclass(%s)", (table,)).fetchone()[0]
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] if exists else 0


def _whole_chunks_only(pg, entries, table: str) -> None:
    """The table holds exactly the non-empty ids its progress says were read: no part of a chunk."""
    with pg.admin(DB) as conn:
        width = conn.execute(f"SELECT (job->>'block_ids')::bigint FROM {table}_job").fetchone()[0]
        progress = dict(conn.execute(f"SELECT block, last_id FROM {table}_progress").fetchall())
    read = [i for i in labelled(entries) if i // width in progress and i <= progress[i // width]]
    assert sorted(rows_of(pg, table)) == read


def _wait_for_rows(pg, proc, log: Path, table: str, rows: int, deadline: float) -> None:
    while _committed(pg, table) < rows:
        assert proc.poll() is None, log.read_text()[-3000:]
        assert time.time() < deadline, f"{table} did not reach {rows} rows"
        time.sleep(0.01)


def test_killed_and_server_lost_runs_resume_to_the_uninterrupted_table(pg, entries, classifier, reference, tmp_path):
    """Three SIGKILLs at random points and a server stopped mid-run, each followed by a re-run of the same
    command: the table equals the uninterrupted run's, and between runs it holds whole chunks only."""
    argv = infer_argv(pg, classifier, "resumed")
    rng = random.Random(7)
    deadline = time.time() + 400
    for kill in range(3):
        log = tmp_path / f"killed{kill}.log"
        proc = _start(argv, log)
        _wait_for_rows(pg, proc, log, "resumed", _committed(pg, "resumed") + rng.randrange(4, 200), deadline)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        _whole_chunks_only(pg, entries, "resumed")
    assert len(rows_of(pg, "resumed")) < len(reference)

    log = tmp_path / "lost.log"
    proc = _start(argv, log)
    _wait_for_rows(pg, proc, log, "resumed", _committed(pg, "resumed") + 8, deadline)
    pg.pause()  # the server goes away mid-run
    try:
        assert proc.wait(timeout=120) != 0
    finally:
        pg.resume()
    lines = [line for line in log.read_text().strip().splitlines() if "error" in line]
    assert len(lines) == 1 and lines[0].startswith("error: lost the connection to the database"), lines
    assert "Traceback" not in log.read_text()
    _whole_chunks_only(pg, entries, "resumed")

    proc = _start(argv, tmp_path / "rerun.log")
    assert proc.wait(timeout=300) == 0, (tmp_path / "rerun.log").read_text()[-3000:]
    assert rows_of(pg, "resumed") == reference  # row for row, to the last bit of every score


def test_two_processes_give_the_one_process_table(pg, entries, classifier, reference, tmp_path):
    composer = Path(sys.executable).parent / "composer"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PGPASSWORD": PASSWORD}
    argv = infer_argv(pg, classifier, "two", "--block-ids", "64")
    run = subprocess.run(
        [str(composer), "-n", "2", "-m", "docketbert.infer", *argv],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    two = rows_of(pg, "two")
    assert set(two) == set(reference)
    for entry_id, (model, label, score, _, _) in reference.items():
        assert two[entry_id][:2] == (model, label) and two[entry_id][2] == pytest.approx(score, abs=1e-5)
    summary = summary_of(run.stderr + run.stdout)
    assert summary["processes"] == 2 and summary["labelled"] == len(reference), summary


def test_an_encoder_without_a_head_writes_embeddings_and_says_so(pg, entries, tmp_path, tokenizer_dir, capsys):
    from tiny_models import save_tiny_model

    encoder = save_tiny_model(tmp_path / "mlm", tokenizer_dir, 2)
    assert main(infer_argv(pg, encoder, "vectors")) == 0
    assert "has no fine-tuned head: writing its embeddings (task embed)" in capsys.readouterr().err
    rows = rows_of(pg, "vectors")
    assert sorted(rows) == labelled(entries)
    assert all(r[1] is None and len(r[4]) == TINY_SHAPE["hidden_size"] for r in rows.values())


def test_refusals_are_one_line(pg, entries, classifier, reference, tmp_path, tokenizer_dir, capsys):
    from tiny_models import save_tiny_model

    other = save_tiny_model(tmp_path / "other", tokenizer_dir, 2)
    with pg.admin(DB) as conn:
        conn.execute("CREATE TABLE other_shape (id integer, label text)")
    db = pg.url(dbname=DB)
    cases = {
        "another model": (infer_argv(pg, other, "reference", "--task", "embed"), "holds another job's rows (model"),
        "another input": (
            infer_argv(pg, classifier, "reference", "--query", "SELECT id, description FROM search_docketentry"),
            "holds another job's rows (input",
        ),
        "another shape": (infer_argv(pg, classifier, "other_shape"), "exists with other columns (id integer"),
        "npy from a database": (
            [str(classifier), "--input", db, "--output", str(tmp_path / "x.npy")],
            ".npy output cannot carry the entries' ids",
        ),
        "table from a file": (
            [str(classifier), "--input", str(tmp_path / "other" / "config.json"), "--output", table_url(pg, "t")],
            "a table --output (postgresql://...) needs a database --input",
        ),
        "no such table": (infer_argv(pg, classifier, "t", "--table", "nope"), "no table 'nope' in database"),
        "text ids": (
            infer_argv(pg, classifier, "t", "--query", "SELECT id::text AS id, description FROM search_docketentry"),
            "labelling by id needs an integer id column",
        ),
    }
    for name, (argv, message) in cases.items():
        capsys.readouterr()
        code = main(argv)
        err = capsys.readouterr().err.strip().splitlines()  # a model load's progress bar may come first
        errors = [line for line in err if "error" in line.lower() or "Traceback" in line]
        assert code == 2 and errors == err[-1:] and err[-1].startswith("error: ") and message in err[-1], (name, err)
    assert rows_of(pg, "reference") == reference  # nothing written by any refused run
    capsys.readouterr()
    assert main(infer_argv(pg, other, "reference", "--task", "embed", "--overwrite")) == 0
    replaced = rows_of(pg, "reference")
    assert sorted(replaced) == sorted(reference) and all(r[4] is not None for r in replaced.values())
    with pg.admin(DB) as conn:
        conn.execute("DROP TABLE reference, reference_job, reference_progress")


def test_a_file_output_carries_each_entrys_id(pg, entries, classifier, reference, tmp_path):
    import pyarrow.parquet as pq

    out = tmp_path / "labels.parquet"
    argv = [str(classifier), "--input", pg.url(dbname=DB), "--output", str(out), "--no-progress", "--device", "cpu"]
    assert main([*argv, "--threads", "1", *CHUNK]) == 0
    table = pq.read_table(out).to_pydict()
    assert table["id"] == labelled(entries) and table["index"] == list(range(len(table["id"])))
    got = {i: json.loads(p)["label"] for i, p in zip(table["id"], table["prediction"])}
    assert got == {i: r[1] for i, r in reference.items()}


def test_the_infer_benchmark_gives_both_rates_and_their_ratio(tmp_path, tokenizer_dir):
    """`python -m docketbert.bench infer` on a tiny shape: the front door's and infer's entries/s of one mode
    and their ratio, infer having labelled every non-empty row."""
    out = tmp_path / "r.json"
    argv = [
        sys.executable,
        "-m",
        "docketbert.bench",
        "infer",
        "--shape",
        "scratch-7M",
        "--rows",
        "200",
        "--modes",
        "int8",
    ]
    run = subprocess.run(
        [*argv, "--tokenizer", str(tokenizer_dir), "--threads", "1", "--json", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    if run.returncode and "not found" in run.stderr:
        pytest.skip(run.stderr.strip().splitlines()[-1])
    assert run.returncode == 0, run.stderr[-3000:]
    mode = json.loads(out.read_text())["modes"]["int8"]
    assert mode["front_door_variant"] == "int8+unpadded" and mode["infer_rows_read"] == 200
    assert mode["front_door_entries_per_s"] > 0 and mode["infer_entries_per_s"] > 0 and mode["ratio"] > 0
    assert "infer / front door" in run.stdout
