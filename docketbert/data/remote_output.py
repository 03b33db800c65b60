"""to_mds's output in object storage (`--output s3://bucket/prefix`): the job runs in a local staging folder
(`--local`), and each part is uploaded as it finishes, so the remote holds exactly the layout of a local output
(manifest.json, train/ and eval/ with their parts and merged index.json, parts/, stats.json).

The remote is the record of what is done:
- a part is uploaded shards first, its parts/part-K/stats.json last: that object is the part's commit point;
- stats.json is uploaded last of all: the output is done;
- a re-run, on this machine or another, first pulls what the remote has finished (the manifest, each finished
  part's stats and dedup hashes, its shards' index.json) into the staging folder, so the job resumes after the
  last uploaded part, with the same dedup state, and its result equals an uninterrupted run's. Parts the staging
  folder finished but the remote lacks (a kill during an upload) are uploaded again.
- Uploaded shards are removed from the staging folder (their index.json stays, for the merged index), so the
  staging folder never holds more than about one part.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from docketbert.core.object_store import Remote, Store, check_remote

SPLITS = ("train", "eval")
OUTPUT_FILES = ("manifest.json", "stats.json")
OUTPUT_FOLDERS = ("train", "eval", "parts")


def _part_name(k: int) -> str:
    return f"part-{k:05d}"


def default_staging(uri: str) -> Path:
    """A staging folder of this user's for `uri`, under the system's temporary folder."""
    digest = hashlib.sha256(uri.encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"docketbert-to_mds-{os.getuid()}-{digest}"


class RemoteOutput:
    """The remote side of one to_mds output; `local` is the staging folder the job writes."""

    def __init__(self, uri: str, local: Path):
        self.remote: Remote = check_remote(uri, "--output")
        self.store = Store(self.remote)
        self.local = Path(local)

    def clear(self) -> None:
        """--overwrite: the remote's earlier output of this tool, and the staging folder's."""
        for name in OUTPUT_FILES:
            self.store.delete(name)
        for folder in OUTPUT_FOLDERS:
            self.store.delete_under(folder)
        self._clear_staging()

    def _clear_staging(self) -> None:
        """This tool's files in the staging folder, and only those (--local may name a folder holding others)."""
        for name in (*OUTPUT_FILES, *OUTPUT_FOLDERS, ".tmp"):
            path = self.local / name
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()

    def pull(self) -> None:
        """Make the staging folder hold what the remote has finished (see the module docstring)."""
        manifest = self.store.read_text("manifest.json")
        if manifest is None:  # nothing there yet: the staging folder's leftovers are not the remote's
            self._clear_staging()
            return
        self.local.mkdir(parents=True, exist_ok=True)
        local_manifest = self.local / "manifest.json"
        if not local_manifest.exists() or local_manifest.read_text() != manifest:
            self._clear_staging()  # another job's staging, or a stale one: start from the remote
            local_manifest.write_text(manifest)
        k = 0
        while self.store.exists("parts", _part_name(k), "stats.json"):
            name = _part_name(k)
            if (self.local / "parts" / name / "stats.json").exists():
                self._drop_shards(name)  # uploaded before a kill could drop them
            else:
                for split in SPLITS:
                    self.store.download(self.local / split / name / "index.json", split, name, "index.json")
                self.store.download(self.local / "parts" / name / "hashes.npz", "parts", name, "hashes.npz")
                self.store.download(self.local / "parts" / name / "stats.json", "parts", name, "stats.json")
            k += 1
        stats = self.store.read_text("stats.json")
        if stats is not None:
            (self.local / "stats.json").write_text(stats)
        # parts finished here but not uploaded (a kill during an upload): upload them now, in order
        while (self.local / "parts" / _part_name(k) / "stats.json").exists():
            self.push_part(k)
            k += 1

    def push_manifest(self) -> None:
        self.store.upload(self.local / "manifest.json", "manifest.json")

    def push_part(self, k: int) -> None:
        """Upload finished part k (its shards, then its hashes, then its stats: the commit point); its shards then
        leave the staging folder."""
        name = _part_name(k)
        for split in SPLITS:
            folder = self.local / split / name
            for path in sorted(folder.iterdir()):
                if path.name != "index.json":
                    self.store.upload(path, split, name, path.name)
            self.store.upload(folder / "index.json", split, name, "index.json")
        self.store.upload(self.local / "parts" / name / "hashes.npz", "parts", name, "hashes.npz")
        self.store.upload(self.local / "parts" / name / "stats.json", "parts", name, "stats.json")
        self._drop_shards(name)

    def _drop_shards(self, name: str) -> None:
        for split in SPLITS:
            folder = self.local / split / name
            for path in folder.iterdir() if folder.is_dir() else ():
                if path.name != "index.json":
                    path.unlink()

    def push_result(self) -> None:
        """The merged indexes, then stats.json: the output is done."""
        for split in SPLITS:
            self.store.upload(self.local / split / "index.json", split, "index.json")
        json.loads((self.local / "stats.json").read_text())  # whole, or this raises before the upload
        self.store.upload(self.local / "stats.json", "stats.json")
