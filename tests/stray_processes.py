"""Processes that outlive what started them: found by a mark in their environment, which every child inherits.

`python tests/stray_processes.py MARK` (what .ci/run calls after the suite, whose processes all carry
DOCKETBERT_SUITE_MARK) lists the processes still alive with MARK and exits 1 if there are any."""

from __future__ import annotations

import os
import sys
import time


def processes_marked(token: str) -> list[int]:
    """Pids of the processes whose environment holds `token` (given to a test's subprocesses, which their own
    children inherit): what must be gone once those subprocesses have ended."""
    needle = token.encode()
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                if needle in f.read():
                    found.append(int(pid))
        except OSError:
            continue
    return found


def wait_until_gone(token: str, seconds: float = 30.0) -> list[int]:
    """`processes_marked(token)` once it is empty, or what still lives after `seconds` (a worker's watchdog notices
    a dead parent within a few seconds)."""
    deadline = time.monotonic() + seconds
    while (left := processes_marked(token)) and time.monotonic() < deadline:
        time.sleep(0.25)
    return left


if __name__ == "__main__":
    left = wait_until_gone(sys.argv[1])
    for pid in left:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                command = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            command = "?"
        print(f"stray process {pid}: {command[:200]}", file=sys.stderr)
    print(f"{len(left)} processes of the suite outlived it" if left else "no process of the suite outlived it")
    sys.exit(1 if left else 0)
