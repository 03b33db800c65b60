"""A real S3-compatible server for the tests: moto's standalone server (`moto[server]`, a test dependency) on
127.0.0.1 and a free port, spoken to over HTTP. The project's code reaches it exactly as it reaches S3: through
S3_ENDPOINT_URL and the standard credential variables, which `environment()` gives."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

ACCESS_KEY, SECRET_KEY = "docketbert-test-key", "docketbert-test-secret-do-not-log"
REGION = "us-east-1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class S3Server:
    """One moto server process (in its own session, ended by its process id). `auth=True` turns on moto's IAM
    checks, so unknown keys are refused as S3 refuses them."""

    def __init__(self, log_dir: Path, auth: bool = False):
        self.log_dir, self.auth = Path(log_dir), auth
        self.proc: subprocess.Popen | None = None
        self.url = ""

    def start(self) -> S3Server:
        moto = Path(sys.executable).with_name("moto_server")
        env = dict(os.environ, **({"INITIAL_NO_AUTH_ACTION_COUNT": "0"} if self.auth else {}))
        for _ in range(5):  # a port taken between the probe and the bind: try another
            port = _free_port()
            log = open(self.log_dir / f"moto-{port}.log", "w")  # noqa: SIM115 - the server writes it until it ends
            self.proc = subprocess.Popen(
                [str(moto), "-H", "127.0.0.1", "-p", str(port)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
            self.url = f"http://127.0.0.1:{port}"
            deadline = time.time() + 60
            while time.time() < deadline and self.proc.poll() is None:
                try:
                    urllib.request.urlopen(self.url + "/moto-api/", timeout=2).close()
                    return self
                except OSError:
                    time.sleep(0.2)
            self.stop()
        raise RuntimeError(f"moto_server did not start: see {self.log_dir}")

    def environment(self) -> dict[str, str]:
        """The variables a user's shell would hold for this store."""
        return {
            "S3_ENDPOINT_URL": self.url,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        }

    def new_bucket(self) -> str:
        """A fresh bucket's name (created), so tests sharing the server never see each other's objects."""
        import boto3

        name = f"docketbert-{uuid.uuid4().hex[:12]}"
        env = self.environment()
        boto3.client(
            "s3",
            endpoint_url=self.url,
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
            region_name=REGION,
        ).create_bucket(Bucket=name)
        return name

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None


@contextlib.contextmanager
def s3_environment(server: S3Server):
    """os.environ holding the server's variables for the block, restored after."""
    env = server.environment()
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield env
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
