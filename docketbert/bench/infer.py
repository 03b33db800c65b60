"""`python -m docketbert.infer` from PostgreSQL into a table against the bench front door, in one run: the same
model, mode and texts, and the ratio (the goal: infer at >= 90% of the front door's entries/s).

Starts a throwaway PostgreSQL server (docketbert/data/synthetic/postgres_server.py), COPYs --rows synthetic
entries into CourtListener's search_docketentry, saves a model of --shape (random weights; a 2048-token BPE
trained on the entries, unless --tokenizer) and, for each --modes MODE:
  * front door: `docketbert.bench.end_to_end.run_end_to_end`, variant MODE+LAYOUT (the layout infer uses for that
    mode), from the table's non-empty texts to CLS embeddings, tokenization included, after its warm-up;
  * infer: `python -m docketbert.infer MODEL --input DB --output DB?table=... --task embed --mode MODE`, in this
    process: once untimed (the OpenVINO conversion is cached in MODEL/openvino, the kernels warm), then timed
    into a fresh table; its entries/s is entries labelled over its own clock, from the first page read to the
    last chunk committed (reading, the model and the writes).
Prints both and infer / front door per mode, and writes --json.

    uv run python -m docketbert.bench infer --shape base-150M --rows 1000 --modes int8 openvino_int8 --json r.json
    python -m docketbert.bench infer --device cuda --rows 100000 --modes bf16 --json r.json  # the GPU session
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from docketbert.bench.protocols import BenchError
from docketbert.data.synthetic.postgres_server import (
    COURTLISTENER_SCHEMA,
    PASSWORD,
    PostgresServer,
    find_bin_dir,
)


def layout_for(mode: str, device) -> str:
    """The layout infer runs `mode` in on `device` (its default)."""
    from docketbert.inference.encoder import default_layout

    return default_layout("modernbert", device, mode)


def save_model(shape: str, tokenizer_dir: str, out: Path) -> Path:
    import torch
    from transformers import ModernBertConfig, ModernBertModel

    from docketbert.core.tokenizer import load_tokenizer
    from docketbert.model.shapes import REFERENCE_SHAPES

    tokenizer = load_tokenizer(tokenizer_dir)
    specials = {
        f"{t}_token_id": tokenizer.convert_tokens_to_ids(getattr(tokenizer, f"{t}_token")) for t in ("cls", "sep")
    }
    config = ModernBertConfig(
        **REFERENCE_SHAPES[shape], vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id, **specials
    )
    torch.manual_seed(0)
    ModernBertModel(config).save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def run_infer(argv: list[str]) -> dict:
    """infer's main in this process; its final summary line."""
    from docketbert.downstream.infer_job import main as infer

    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = infer(argv)
    lines = err.getvalue().strip().splitlines()
    if code != 0:
        raise BenchError(f"infer exited {code}: {lines[-1] if lines else ''}")
    return json.loads([line for line in lines if line.startswith("{")][-1])


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--shape", default="base-150M", help="a named shape of python -m docketbert.bench --list")
    p.add_argument("--rows", type=int, default=1000, help="entries in the table (default 1000)")
    p.add_argument("--modes", nargs="+", default=["int8", "openvino_int8"], help="infer modes (default: the CPU's)")
    p.add_argument("--tokenizer", default=None, help="a tokenizer directory (default: train a 2048-token BPE)")
    p.add_argument("--chunk-size", type=int, default=8192, help="infer's --chunk-size (default: its own)")
    p.add_argument("--device", default="cpu", help="cpu or cuda (the GPU modes: --modes bf16 fp32)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default torch's)")
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args(argv)
    import torch

    from docketbert.bench.end_to_end import run_end_to_end
    from docketbert.bench.protocols import EncoderSource, Settings, machine_info
    from docketbert.data.synthetic.database import fill_courtlistener_tables

    if args.threads:
        torch.set_num_threads(args.threads)
    bin_dir = find_bin_dir()
    if bin_dir is None:
        raise BenchError("PostgreSQL server binaries (initdb, pg_ctl) not found: apt-get install -y postgresql-15")
    work = Path(tempfile.mkdtemp(prefix="docketbert-inferbench-"))
    os.environ["PGPASSWORD"] = PASSWORD
    server = PostgresServer(bin_dir).start()
    report: dict = {"machine": machine_info(), "shape": args.shape, "rows": args.rows, "modes": {}}
    try:
        server.create_database("courtlistener")
        with server.admin("courtlistener") as conn:
            conn.execute(COURTLISTENER_SCHEMA)
            fill_courtlistener_tables(conn, args.rows // 10 + 100, recap=False, max_entries=args.rows)
            conn.execute("ANALYZE search_docketentry")
            texts = [
                t for (t,) in conn.execute("SELECT description FROM search_docketentry ORDER BY id") if t and t.strip()
            ]
        tokenizer = args.tokenizer
        if tokenizer is None:
            from docketbert.data.tokenizer_training import train_tokenizer

            tokenizer = str(work / "tokenizer")
            train_tokenizer(iter(texts), 2048, tokenizer)
        model = save_model(args.shape, tokenizer, work / "model")
        url = server.url(dbname="courtlistener")
        from transformers import AutoTokenizer, ModernBertConfig

        tok = AutoTokenizer.from_pretrained(model)
        source = EncoderSource(config=ModernBertConfig.from_pretrained(model), path=str(model), name=args.shape)
        device = torch.device(args.device)
        settings = {"default": Settings(device, [32])}
        for mode in args.modes:
            variant = f"{mode}+{layout_for(mode, device)}"
            print(f"{mode}: front door {variant} on {len(texts)} texts ...", flush=True)
            front = run_end_to_end(source, texts, tok, [variant], settings)[variant]
            if not front.get("seconds"):
                raise BenchError(f"the front door's {variant} gave no time: {front}")
            common = [str(model), "--input", url, "--task", "embed", "--mode", mode, "--device", args.device]
            # The front door truncates at the reference's 768 tokens: infer the same (its default is the model's 8192).
            common += ["--no-progress", "--chunk-size", str(args.chunk_size), "--max-length", "768"]
            print(f"{mode}: infer (warm-up run) ...", flush=True)
            run_infer([*common, "--output", f"{url}?table=warm_{mode}"])
            start = time.perf_counter()
            summary = run_infer([*common, "--output", f"{url}?table=timed_{mode}"])
            wall = time.perf_counter() - start
            infer_eps = round(summary["labelled"] / summary["seconds"], 2)  # the front door times non-empty texts
            report["modes"][mode] = {
                "front_door_variant": variant,
                "front_door_entries_per_s": front["entries_per_s"],
                "infer_entries_per_s": infer_eps,
                "infer_rows_read": summary["read"],
                "infer_labelled": summary["labelled"],
                "infer_wall_s_with_model_load": round(wall, 2),
                "ratio": round(infer_eps / front["entries_per_s"], 3),
            }
            print(
                f"{mode}: front door {front['entries_per_s']:.1f} entries/s, infer {infer_eps:.1f} entries/s, "
                f"infer / front door {infer_eps / front['entries_per_s']:.3f}",
                flush=True,
            )
            if args.json:
                args.json.write_text(json.dumps(report, indent=1) + "\n")
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)  # the model, tokenizer and OpenVINO cache made for this run
    return report
