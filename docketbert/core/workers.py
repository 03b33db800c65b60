"""How many data-loader worker processes a training process gets: `data.num_workers` resolved.

`auto` gives each local rank its share of the CPUs this process may run on (its affinity mask, not the machine's
count), less a margin for the training process itself and for the launcher, capped so that a large host does not
start dozens of processes per rank that only hold memory. An int passes through after validation.
"""

from __future__ import annotations

import os

# CPUs left to the training process per rank (it runs the step, the optimizer and Composer's bookkeeping).
MARGIN = 1
# Beyond this many workers per rank, packing and collating is no longer the bottleneck (they only hold memory).
MAX_AUTO_WORKERS = 8


def available_cpus() -> int:
    """CPUs this process may run on: its scheduler affinity (cgroup/taskset limits) where the OS reports one."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def local_world_size_from_env() -> int:
    """Processes on this node, as Composer's launcher (and torchrun) report it; 1 without a launcher."""
    value = os.environ.get("LOCAL_WORLD_SIZE", "1")
    try:
        return max(1, int(value))
    except ValueError:
        return 1


def resolve_num_workers(setting: int | str, local_world_size: int | None = None) -> int:
    """`data.num_workers`: a non-negative int as given, or `auto`: (CPUs available / local ranks) - MARGIN,
    at least 0 and at most MAX_AUTO_WORKERS. Raises ValueError for anything else."""
    if isinstance(setting, bool):
        raise ValueError(f"data.num_workers must be a non-negative integer or auto, not {setting!r}")
    if isinstance(setting, str):
        text = setting.strip().lower()
        if text != "auto":
            try:
                setting = int(text)
            except ValueError:
                raise ValueError(f"data.num_workers must be a non-negative integer or auto, not {setting!r}") from None
        else:
            ranks = local_world_size if local_world_size is not None else local_world_size_from_env()
            if ranks < 1:
                raise ValueError(f"local_world_size must be at least 1, not {ranks}")
            return max(0, min(MAX_AUTO_WORKERS, available_cpus() // ranks - MARGIN))
    if not isinstance(setting, int) or setting < 0:
        raise ValueError(f"data.num_workers must be a non-negative integer or auto, not {setting!r}")
    return setting


def worker_context(preload: tuple[str, ...] = ()):
    """The multiprocessing context worker processes are started from: `forkserver` where the OS has it.

    A plain fork copies a process whose other threads (torch's, OpenMP's, the tokenizer's) may hold a lock at that
    instant; the child then sleeps on it forever, outliving its parent. The fork server is a single-threaded
    process started once per parent, with `preload` imported, that forks each worker (cheaply, the imports
    done); it exits when its parent does, and the workers' watchdog sees their parent change and stop."""
    import multiprocessing

    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(preload))
    return context


def start_fork_server(preload: tuple[str, ...]) -> None:
    """Start the fork server of `worker_context(preload)` now, not when the first loader starts its workers: its
    imports then run beside this process's own work (a loader connects to it, waiting for them only if they are
    not done). A no-op where the OS has no fork server."""
    if worker_context(preload).get_start_method() == "forkserver":
        from multiprocessing import forkserver

        forkserver.ensure_running()


def exit_with(pid: int, worker_id: int = 0) -> None:
    """A loader's `worker_init_fn` (bound to the training process's pid): the worker ends the moment process `pid`
    does. torch's own watchdog watches the worker's parent, which for a fork-server worker is the fork server, and
    the fork server lives on while any worker holds its pipe: after a SIGKILL neither would ever end."""
    import select
    import threading

    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        os._exit(1)
    except (AttributeError, OSError):
        return  # no pidfd on this OS: torch's watchdog only

    def watch() -> None:
        select.select([fd], [], [])  # readable once the process has ended
        os._exit(1)

    threading.Thread(target=watch, name="docketbert-exit-with-parent", daemon=True).start()
