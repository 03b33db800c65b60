"""A run's copy in object storage (`remote_folder: s3://bucket/runs`): what lets a run span machines and outlive one.

Under `<remote_folder>/<run_name>/` the remote holds
- `checkpoints/ep{E}-ba{B}-rank0.pt`: each checkpoint Composer writes into the local run directory, uploaded as
  soon as it is written (before the next batch), and removed there when the local pruning removes it, so the
  remote keeps the same `save_num_checkpoints_to_keep`;
- after the run: `hf/` (the HF export), `metrics.json`, `run_info.json` and `config.yaml`.

On autoresume, before Composer looks for a checkpoint, each node's first process downloads the remote checkpoints
its local folder lacks (a new node, or one whose disk was lost), each downloaded atomically. They then go through
the same checks as local ones (`docketbert.training.checkpoints.prepare_autoresume`): a truncated one is moved
aside and the next newest used, one whose pickle names anything outside the allowlist is refused, and loading is
`weights_only`. An S3 object appears whole or not at all, so a kill during an upload leaves the previous
checkpoint as the remote's newest.

The store is reached with boto3's standard credential chain and S3_ENDPOINT_URL (docketbert.core.object_store);
no credential is part of the config, run_info.json or a log line.
"""

from __future__ import annotations

import logging
from pathlib import Path

from composer.core import Callback, State
from composer.loggers import Logger
from composer.utils import dist

from docketbert.core.object_store import Store
from docketbert.training.checkpoints import checkpoint_order, checkpoints

log = logging.getLogger(__name__)

CHECKPOINTS = "checkpoints"
RESULTS = ("metrics.json", "run_info.json", "config.yaml")


def run_store(remote_folder: str, run_name: str) -> Store:
    return Store(f"{remote_folder.rstrip('/')}/{run_name}")


def remote_checkpoints(store: Store) -> dict[str, int]:
    """{name: size} of the checkpoints in the remote's checkpoints/ folder, oldest first."""
    sizes = {key.split("/", 1)[1]: size for key, size in store.sizes(CHECKPOINTS).items() if key.count("/") == 1}
    return {name: sizes[name] for name in checkpoint_order(sizes)}


def pull_checkpoints(store: Store, folder: Path) -> list[str]:
    """Download the remote checkpoints `folder` lacks; their names."""
    folder.mkdir(parents=True, exist_ok=True)
    pulled = []
    for name in remote_checkpoints(store):
        if not (folder / name).exists() and not (folder / f"{name}.corrupt").exists():
            log.info("autoresume: downloading %s from %s", name, store.remote.uri(CHECKPOINTS))
            store.download(folder / name, CHECKPOINTS, name)
            pulled.append(name)
    return pulled


def push_checkpoints(store: Store, folder: Path, uploaded: dict[str, int]) -> None:
    """Mirror the local checkpoints: upload each one the remote lacks or holds at another size (oldest first; a
    cut copy there is replaced), then remove remote ones pruned here. `uploaded` ({name: size} the remote holds)
    is kept up to date."""
    local = {p.name: p.stat().st_size for p in checkpoints(folder)} if folder.is_dir() else {}
    for name, size in local.items():
        if uploaded.get(name) != size:
            store.upload(folder / name, CHECKPOINTS, name)
            uploaded[name] = size
    if local:  # never empty the remote because the local folder is (yet) empty
        for name in sorted(set(uploaded) - set(local)):
            store.delete(CHECKPOINTS, name)
            del uploaded[name]


class RemoteCheckpoints(Callback):
    """Uploads every checkpoint of the run directory as soon as Composer has written it (rank 0).

    Composer's checkpoint saver runs after the run's own callbacks at an event, so a checkpoint written at a
    batch's end is seen at the next batch's start (or the epoch's, or after the fit: `finish_remote`)."""

    def __init__(self, remote_folder: str, run_name: str, folder: Path):
        self.remote_folder, self.run_name, self.folder = remote_folder, run_name, Path(folder)
        self._store: Store | None = None
        self._uploaded: dict[str, int] = {}

    def _sync(self) -> None:
        if dist.get_global_rank() != 0 or not self.folder.is_dir():
            return
        if self._store is None:  # the remote's listing once; after it, only new or resized checkpoints reach it
            self._store = run_store(self.remote_folder, self.run_name)
            self._uploaded = remote_checkpoints(self._store)
        push_checkpoints(self._store, self.folder, self._uploaded)

    def batch_start(self, state: State, logger: Logger) -> None:
        self._sync()

    def epoch_start(self, state: State, logger: Logger) -> None:
        self._sync()


def finish_remote(remote_folder: str, run_name: str, run_dir: Path) -> None:
    """After the run (rank 0): its checkpoints mirrored, then the HF export and the run's records uploaded."""
    store = run_store(remote_folder, run_name)
    push_checkpoints(store, run_dir / CHECKPOINTS, remote_checkpoints(store))
    if (run_dir / "hf").is_dir():
        store.delete_under("hf")
        store.upload_tree(run_dir / "hf", "hf")
    for name in RESULTS:
        if (run_dir / name).is_file():
            store.upload(run_dir / name, name)
