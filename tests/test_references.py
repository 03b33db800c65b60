"""Comments, docstrings and the docs name only what exists: every dotted docketbert name in a comment or docstring
imports (a module, or an attribute of one), and every repository path (docketbert/..., tests/..., yamls/..., docs/...,
gpu_session/..., experiments/..., data_prep/...) in those and in the Markdown files is a file or folder of the
repository; a Markdown link points at a file that exists."""

from __future__ import annotations

import ast
import importlib
import io
import re
import tokenize
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SOURCES = ("docketbert", "data_prep", "gpu_session", "experiments", "tests")
MODULE = re.compile(r"(?<![\w.])docketbert(?:\.[A-Za-z_]\w*)+")
PATH = re.compile(
    r"(?<![\w./<:-])((?:docketbert|tests|gpu_session|experiments|data_prep|yamls|docs|bench)/[\w./-]*\w)(?![\w*{<])"
)
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def comments_and_docstrings(path: Path) -> list[tuple[int, str]]:
    """(line, text) of every comment and docstring of a Python file."""
    source = path.read_text()
    found = [
        (tok.start[0], tok.string)
        for tok in tokenize.generate_tokens(io.StringIO(source).readline)
        if tok.type == tokenize.COMMENT
    ]
    for node in ast.walk(ast.parse(source, str(path))):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            doc = ast.get_docstring(node, clean=False)
            if doc:
                found.append((node.body[0].lineno, doc))
    return found


def resolves(dotted: str) -> bool:
    """Whether `dotted` is a module, or a module's attribute (chain), of the installed package."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for name in parts[cut:]:
            if not hasattr(obj, name):
                return False
            obj = getattr(obj, name)
        return True
    return False


def placeholder(path: str) -> bool:
    """A path with an upper-case stand-in (yamls/X.yaml, gpu_session/NAME.py) is a pattern, not a file."""
    return any(part.split(".")[0].isupper() for part in path.split("/"))


def stale_in(text: str, where: str) -> list[str]:
    found = [f"{where}: {m} does not import" for m in MODULE.findall(text) if not resolves(m)]
    paths = [p for p in PATH.findall(text) if not placeholder(p)]
    found += [f"{where}: {p} does not exist" for p in paths if not (REPO / p).exists()]
    return found


def stale_references(files: list[Path], root: Path = REPO) -> list[str]:
    """What the files name that does not exist, each as `file[:line]: what` (file relative to `root`)."""
    stale = []
    for path in files:
        rel = path.relative_to(root)
        if path.suffix == ".py":
            for line, text in comments_and_docstrings(path):
                stale += stale_in(text, f"{rel}:{line}")
        else:
            text = path.read_text()
            stale += stale_in(text, str(rel))
            for target in LINK.findall(text):
                if "://" not in target and not (path.parent / target).exists():
                    stale.append(f"{rel}: link {target} does not exist")
    return stale


def repository_files() -> list[Path]:
    py = [p for top in SOURCES for p in sorted((REPO / top).rglob("*.py"))]
    md = sorted(REPO.glob("*.md")) + [p for top in ("docs", *SOURCES) for p in sorted((REPO / top).rglob("*.md"))]
    return py + md


def test_comments_docstrings_and_docs_name_only_what_exists():
    stale = stale_references(repository_files())
    assert stale == [], "\n".join(stale)


def test_the_check_can_fail(tmp_path):
    """A moved function, deleted scripts and a dead link are each caught; a glob, a placeholder or a path at a git
    revision (REV:path) is not a path of the tree."""
    planted = tmp_path / "planted.py"
    planted.write_text(
        '"""Calls docketbert.training.checks.check_run, as docketbert/bench/timing.py once did."""\n'
        "# see bench/gpu_session.py; tests/test_*.py, yamls/<run>.yaml and yamls/X.yaml are patterns\n"
        "# docketbert.training.run_checks.check_run and docketbert/bench/protocols.py are; d530192:bench/x.py: past\n"
    )
    md = tmp_path / "planted.md"
    md.write_text("[the report](experiments/1999-01-01_nothing/README.md), run `docs/nothing.md`\n")
    assert stale_references([planted, md], root=tmp_path) == [
        "planted.py:2: bench/gpu_session.py does not exist",
        "planted.py:1: docketbert.training.checks.check_run does not import",
        "planted.py:1: docketbert/bench/timing.py does not exist",
        "planted.md: docs/nothing.md does not exist",
        "planted.md: link experiments/1999-01-01_nothing/README.md does not exist",
    ]
