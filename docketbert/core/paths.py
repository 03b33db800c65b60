"""What is wrong with a path a command reads or writes, in words a one-line refusal can end with.

Every command checks its input files and output folders through `input_file_fault` and `output_dir_fault`, so a
folder given as an input reads "is a directory", /dev/null "is a character device", and an output under a file
names that file:

    require_input_file(path, "--input", InputError)        # "--input DIR is a directory, not a file"
    require_output_dir(out, f"--output {out}", InputError)  # "--output x/y: x is a file, not a directory"
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

_KINDS = (
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISSOCK, "a socket"),
)


def kind_of(path: str | Path) -> str:
    """What `path` is, as a noun phrase: "a directory", "a file", "a character device" (/dev/null), ...; for a
    path that is not there, "missing"."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return "missing"
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISREG(mode):
        return "a file"
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def input_file_fault(path: str | Path) -> str | None:
    """None when `path` is a regular file this process may read (or a link to one), else what is wrong with it:
    "does not exist", "is a symbolic link to X, which does not exist", "is a directory, not a file",
    "is a character device, not a regular file", "cannot be read (permission denied)"."""
    path = Path(path).expanduser()
    kind = kind_of(path)
    if kind == "missing":
        if path.is_symlink():
            return f"is a symbolic link to {os.readlink(path)}, which does not exist"
        return "does not exist"
    if kind == "a directory":
        return "is a directory, not a file"
    if kind != "a file":
        return f"is {kind}, not a regular file"
    if not os.access(path, os.R_OK):
        return "cannot be read (permission denied)"
    return None


def output_dir_fault(path: str | Path) -> str | None:
    """None when `path` is a directory or can become one (its nearest existing ancestor is a directory), else
    which path stands in the way: "X is a file, not a directory"."""
    path = Path(path).expanduser()
    blocker = next((p for p in (path, *path.parents) if os.path.lexists(p)), None)
    if blocker is None:
        return None
    kind = kind_of(blocker)
    if kind == "a directory":
        return None
    if kind == "missing":
        return f"{blocker} is a symbolic link to {os.readlink(blocker)}, which does not exist"
    return f"{blocker} is {kind}, not a directory"


def require_input_file(path: str | Path, what: str, error: type[Exception] = FileNotFoundError) -> None:
    """Raise `error("<what> <path> <fault>")` unless `input_file_fault(path)` is None, e.g.
    `require_input_file(p, "--input", InputError)` -> "--input /dev/null is a character device, not a regular file"."""
    fault = input_file_fault(path)
    if fault:
        raise error(f"{what} {path} {fault}")


def require_output_dir(path: str | Path, what: str, error: type[Exception] = FileNotFoundError) -> None:
    """Raise `error("<what>: <fault>")` unless `output_dir_fault(path)` is None, e.g.
    `require_output_dir(out, f"--output {out}", InputError)` -> "--output x/y: x is a file, not a directory"."""
    fault = output_dir_fault(path)
    if fault:
        raise error(f"{what}: {fault}")
