"""Where export objects go: anything that can put, get and describe itself. A destination's sink (S3, GCS:
workers/runtime/export_sinks.py) and the directory sink below satisfy the same protocol; keys are relative to
the destination's prefix and always use '/'."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path, PurePosixPath
from typing import Protocol


class ObjectSink(Protocol):
    def put(self, key: str, data: bytes, content_type: str) -> None:
        """Write `data` under `key`, replacing an existing object."""

    def get(self, key: str) -> bytes | None:
        """The object under `key`; None when there is no such object."""

    def describe(self) -> str:
        """Where the objects go, for messages (e.g. "s3://bucket/prefix"), never a credential."""

    def close(self) -> None:
        """Let go of what the sink holds open (an S3 sink's pinning tunnel); nothing is put after it."""


def checked_key(key: str) -> str:
    """A relative key without empty, '.' or '..' parts (ValueError otherwise): a key never leaves its prefix."""
    parts = PurePosixPath(key).parts
    if not key or key.startswith("/") or "\\" in key or any(p in ("", ".", "..") for p in parts) or "//" in key:
        raise ValueError(f"an export key must be a relative path without '..': {key!r}")
    return key


class DirectorySink:
    """Objects as files under `root` (created on first put); a put is atomic (a temporary file renamed)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*PurePosixPath(checked_key(key)).parts)

    def put(self, key: str, data: bytes, content_type: str) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".part-")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes | None:
        path = self._path(key)
        return path.read_bytes() if path.is_file() else None

    def describe(self) -> str:
        return str(self.root)

    def close(self) -> None:
        """Nothing to let go: each put opens and closes its own file."""
