"""The artifact store: every artifact read and write goes through the `minio` SDK, so any
S3-compatible store (SeaweedFS locally, MinIO or AWS S3 in a cluster) serves."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import urllib3
from minio import Minio
from minio.error import S3Error

from shared.settings import S3Settings


def parse_s3_uri(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://"):
        raise ValueError(f"not an s3:// URI: {uri!r}")
    bucket, _, key = uri[len("s3://"):].partition("/")
    if not bucket or not key:
        raise ValueError(f"an s3:// URI needs a bucket and a key: {uri!r}")
    return bucket, key


def unavailable(exc: BaseException) -> bool:
    """The store or the broker is away (down, restarting, overloaded): worth trying again later,
    unlike a bad request or a malformed event."""
    from aiokafka.errors import KafkaConnectionError, KafkaTimeoutError, NodeNotReadyError, RequestTimedOutError
    from minio.error import ServerError

    if isinstance(exc, S3Error):
        return exc.code in ("SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout")
    return isinstance(exc, (urllib3.exceptions.HTTPError, ServerError, ConnectionError, TimeoutError,
                            KafkaConnectionError, KafkaTimeoutError, NodeNotReadyError, RequestTimedOutError))


def _json_bytes(obj: Any) -> bytes:
    return json.dumps(obj, indent=2, default=str).encode()


class ArtifactStore:
    def __init__(self, settings: S3Settings | None = None) -> None:
        self.settings = settings or S3Settings()
        self.bucket = self.settings.bucket
        # minio's default pool keeps 10 connections; services read and write from many threads.
        http = urllib3.PoolManager(maxsize=32, timeout=urllib3.Timeout(connect=10, read=60),
                                   retries=urllib3.Retry(total=5, backoff_factor=0.2,
                                                         status_forcelist=[500, 502, 503, 504]))
        self.client = Minio(
            self.settings.endpoint,
            access_key=self.settings.access_key,
            secret_key=self.settings.secret_key.get_secret_value(),
            secure=self.settings.secure,
            region=self.settings.region,
            http_client=http,
        )

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    def _locate(self, key_or_uri: str) -> tuple[str, str]:
        return parse_s3_uri(key_or_uri) if key_or_uri.startswith("s3://") else (self.bucket, key_or_uri)

    def ensure_bucket(self) -> None:
        if not self.client.bucket_exists(self.bucket):
            self.client.make_bucket(self.bucket)

    def put_bytes(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> str:
        bucket, key = self._locate(key)
        self.client.put_object(bucket, key, io.BytesIO(data), len(data), content_type=content_type)
        return f"s3://{bucket}/{key}"

    def put_json(self, key: str, obj: Any) -> str:
        return self.put_bytes(key, _json_bytes(obj), "application/json")

    def create_json(self, key: str, obj: Any) -> bool:
        """Writes the object only if there is none yet (S3's `If-None-Match: *`, which MinIO, AWS and
        SeaweedFS honour): True when this call created it. Of several writers racing, one wins.
        minio 7.2 (pinned) has no public way to send that header, hence its `_put_object`."""
        bucket, key = self._locate(key)
        try:
            self.client._put_object(bucket, key, _json_bytes(obj), headers={"If-None-Match": "*", "Content-Type": "application/json"})
        except S3Error as exc:
            if exc.code == "PreconditionFailed":
                return False
            raise
        return True

    def put_file(self, key: str, path: Path) -> str:
        bucket, key = self._locate(key)
        self.client.fput_object(bucket, key, str(path))
        return f"s3://{bucket}/{key}"

    def get_bytes(self, key: str) -> bytes:
        bucket, key = self._locate(key)
        response = self.client.get_object(bucket, key)
        try:
            return response.read()
        finally:
            response.close()
            response.release_conn()

    def get_optional(self, key: str) -> bytes | None:
        """The object's bytes, or None when there is none."""
        try:
            return self.get_bytes(key)
        except S3Error as exc:
            if exc.code in ("NoSuchKey", "NoSuchObject", "NotFound"):
                return None
            raise

    def get_json(self, key: str) -> Any:
        return json.loads(self.get_bytes(key))

    def get_file(self, key: str, path: Path) -> Path:
        bucket, key = self._locate(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.client.fget_object(bucket, key, str(path))
        return path

    def exists(self, key: str) -> bool:
        bucket, key = self._locate(key)
        try:
            self.client.stat_object(bucket, key)
            return True
        except S3Error as exc:
            if exc.code in ("NoSuchKey", "NoSuchObject", "NotFound"):
                return False
            raise

    def delete(self, key: str) -> None:
        bucket, key = self._locate(key)
        self.client.remove_object(bucket, key)

    def list(self, prefix: str, recursive: bool = True) -> Iterator[str]:
        bucket, prefix = self._locate(prefix) if prefix.startswith("s3://") else (self.bucket, prefix)
        for obj in self.client.list_objects(bucket, prefix=prefix, recursive=recursive):
            yield obj.object_name

    def download_prefix(self, prefix: str, dest: Path) -> Path:
        """Copy every object under `prefix/` into `dest`, keeping relative paths."""
        bucket, prefix = self._locate(prefix)
        prefix = prefix.rstrip("/") + "/"
        for obj in self.client.list_objects(bucket, prefix=prefix, recursive=True):
            self.client.fget_object(bucket, obj.object_name, str(dest / obj.object_name[len(prefix):]))
        return dest

    def upload_dir(self, src: Path, prefix: str) -> str:
        prefix = prefix.rstrip("/")
        for path in sorted(src.rglob("*")):
            if path.is_file():
                self.put_file(f"{prefix}/{path.relative_to(src).as_posix()}", path)
        return self.uri(prefix)
