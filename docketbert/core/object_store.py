"""Object storage (S3 and S3-compatible stores: MinIO, R2, moto) for shards, checkpoints and exports.

A remote is an `s3://bucket/prefix` URI. The client is boto3's, with its standard credential chain (the
environment's AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, AWS_PROFILE, ~/.aws/credentials and
config) and, for an S3-compatible store, the endpoint in S3_ENDPOINT_URL: the same variables mosaicml-streaming
and Composer read, so every part of a run reaches the same store. Credentials never travel in a URI, a YAML or a
log line: a URI that holds any (`s3://KEY:SECRET@bucket`) is refused.

`check_remote(uri, what)` is the up-front check of every command that reads or writes a remote: missing
credentials, an unreachable endpoint, a bucket that does not exist and access denied are each a `RemoteError` of
one line, before any model is built or any row is read.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SCHEMES = ("s3://",)
ENDPOINT_VARIABLE = "S3_ENDPOINT_URL"


class RemoteError(ValueError):
    """A remote a command cannot use, said in one line."""


def is_remote(path: str | os.PathLike) -> bool:
    """Whether `path` names a remote (any `scheme://`); only s3:// is written by this project."""
    return "://" in str(path)


@dataclass(frozen=True)
class Remote:
    """An s3://bucket/prefix location."""

    bucket: str
    prefix: str  # without leading or trailing slashes; '' for the bucket's root

    @classmethod
    def parse(cls, uri: str, what: str = "the remote") -> Remote:
        if not str(uri).startswith(SCHEMES):
            raise RemoteError(f"{what} {uri!r}: only s3:// remotes are supported (S3 or an S3-compatible store)")
        rest = str(uri)[len("s3://") :]
        bucket, _, prefix = rest.partition("/")
        if "@" in bucket or ":" in bucket:
            raise RemoteError(
                f"{what} holds credentials in its URI: remove them and use the environment (AWS_ACCESS_KEY_ID, "
                "AWS_SECRET_ACCESS_KEY) or ~/.aws/credentials"
            )
        if not bucket:
            raise RemoteError(f"{what} {uri!r} names no bucket: s3://BUCKET/PREFIX")
        return cls(bucket, prefix.strip("/"))

    def key(self, *parts: str) -> str:
        return "/".join(p.strip("/") for p in (self.prefix, *parts) if p and p.strip("/"))

    def uri(self, *parts: str) -> str:
        return f"s3://{self.bucket}/{self.key(*parts)}"

    def __str__(self) -> str:
        return self.uri()


def client():
    """A boto3 S3 client from the standard chain, at S3_ENDPOINT_URL when it is set."""
    import boto3
    from botocore.config import Config

    endpoint = os.environ.get(ENDPOINT_VARIABLE) or None
    config = Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=10, read_timeout=60)
    return boto3.session.Session().client("s3", endpoint_url=endpoint, config=config)


def _where() -> str:
    endpoint = os.environ.get(ENDPOINT_VARIABLE)
    return f" at {ENDPOINT_VARIABLE}={endpoint}" if endpoint else ""


def check_remote(uri: str, what: str) -> Remote:
    """The remote `uri` parsed and reachable: credentials found, the endpoint answering, the bucket there and
    readable. Otherwise a one-line RemoteError naming `what` (a flag or a config key) and the fault."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError

    remote = Remote.parse(uri, what)
    if boto3.session.Session().get_credentials() is None:
        raise RemoteError(
            f"{what}={uri}: no S3 credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, "
            "or write ~/.aws/credentials"
        )
    try:
        client().head_bucket(Bucket=remote.bucket)
    except NoCredentialsError:
        raise RemoteError(f"{what}={uri}: no S3 credentials found") from None
    except EndpointConnectionError as err:
        raise RemoteError(f"{what}={uri}: cannot reach the S3 endpoint ({err})") from None
    except ClientError as err:
        code = str(err.response.get("Error", {}).get("Code", ""))
        if code in ("404", "NoSuchBucket"):
            raise RemoteError(f"{what}={uri}: the bucket {remote.bucket!r} does not exist{_where()}") from None
        if code in ("403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
            raise RemoteError(
                f"{what}={uri}: access denied to the bucket {remote.bucket!r}{_where()} (check the credentials and "
                "their permissions)"
            ) from None
        raise RemoteError(f"{what}={uri}: the store refused the request ({code or err})") from None
    except BotoCoreError as err:
        raise RemoteError(f"{what}={uri}: {err}") from None
    return remote


class Store:
    """The object operations the project needs on one remote, keys relative to its prefix."""

    def __init__(self, remote: Remote | str):
        self.remote = Remote.parse(remote) if isinstance(remote, str) else remote
        self._client = client()

    def upload(self, local: str | Path, *key: str) -> None:
        self._client.upload_file(str(local), self.remote.bucket, self.remote.key(*key))

    def put_text(self, text: str, *key: str) -> None:
        self._client.put_object(Bucket=self.remote.bucket, Key=self.remote.key(*key), Body=text.encode())

    def download(self, local: str | Path, *key: str) -> None:
        """Into `local` atomically (a temporary name, then a rename): a kill never leaves half a file there."""
        local = Path(local)
        local.parent.mkdir(parents=True, exist_ok=True)
        tmp = local.with_name(f"{local.name}.{os.getpid()}.download")
        self._client.download_file(self.remote.bucket, self.remote.key(*key), str(tmp))
        os.replace(tmp, local)

    def read_text(self, *key: str) -> str | None:
        """The object's text, or None when it is not there."""
        from botocore.exceptions import ClientError

        try:
            body = self._client.get_object(Bucket=self.remote.bucket, Key=self.remote.key(*key))["Body"]
        except ClientError as err:
            if str(err.response.get("Error", {}).get("Code", "")) in ("404", "NoSuchKey"):
                return None
            raise
        return body.read().decode()

    def exists(self, *key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self._client.head_object(Bucket=self.remote.bucket, Key=self.remote.key(*key))
        except ClientError as err:
            if str(err.response.get("Error", {}).get("Code", "")) in ("404", "NoSuchKey"):
                return False
            raise
        return True

    def keys(self, *prefix: str) -> Iterator[str]:
        """Every key under `prefix` (relative to the remote's prefix), in the store's order."""
        yield from self.sizes(*prefix)

    def sizes(self, *prefix: str) -> dict[str, int]:
        """{key: size in bytes} of every object under `prefix` (keys relative to the remote's prefix)."""
        base = self.remote.key(*prefix)
        start = len(self.remote.prefix) + 1 if self.remote.prefix else 0
        pages = self._client.get_paginator("list_objects_v2").paginate(
            Bucket=self.remote.bucket, Prefix=base + "/" if base else ""
        )
        return {item["Key"][start:]: int(item["Size"]) for page in pages for item in page.get("Contents", [])}

    def delete(self, *key: str) -> None:
        self._client.delete_object(Bucket=self.remote.bucket, Key=self.remote.key(*key))

    def delete_under(self, *prefix: str) -> int:
        """Delete every key under `prefix`; how many."""
        names = list(self.keys(*prefix))
        for start in range(0, len(names), 1000):
            chunk = names[start : start + 1000]
            self._client.delete_objects(
                Bucket=self.remote.bucket, Delete={"Objects": [{"Key": self.remote.key(n)} for n in chunk]}
            )
        return len(names)

    def upload_tree(self, folder: str | Path, *prefix: str) -> int:
        """Every file under `folder` to `prefix/<its relative path>`; how many."""
        folder = Path(folder)
        n = 0
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            self.upload(path, *prefix, path.relative_to(folder).as_posix())
            n += 1
        return n
