"""The artifact digest of a model version: one sha256 over the files of its model directory,
computed the same way from a local directory (the tenant's CI, before upload) and from the
objects in the tenant's bucket (``tenantry verify``, after deployment). Pure, except for the
file and S3 reads it is asked to do.

The canonical file walk, exactly:

1. The *model directory* is Triton's version directory of the revision: locally the
   directory given; in the bucket every object under
   ``models/<model>/v<version>/<model>/<version>/`` (:func:`artifact_prefix`). The generated
   ``config.pbtxt`` one level up is not part of it: Tenantry writes it from the tenant file
   and ``tenantry verify`` checks it separately.
2. Every regular file under it, at any depth, is one entry; directories themselves are not
   (S3 has none: empty directories and zero-byte keys ending in ``/`` are ignored). A
   symbolic link or any other non-regular file is an error (S3 cannot hold one, and
   following it would hash bytes from outside the directory).
3. An entry's path is its path relative to the model directory, components joined by ``/``,
   encoded as UTF-8 (no Unicode normalisation: the bytes of the name as stored). A name that
   is not valid UTF-8, or that contains a newline, a backslash or an empty, ``.`` or ``..``
   component, is an error.
4. Entries are sorted by the bytes of their path (``LC_ALL=C sort`` order).
5. The manifest is, per entry in that order, the lower-case hex sha256 of the file's bytes,
   two spaces, the path and a newline: exactly what ``sha256sum <path>`` prints for it in the
   model directory.
6. The digest is ``sha256:`` + the lower-case hex sha256 of the manifest. A directory with no
   entries has no digest (error).

The same digest with standard tools, run inside the model directory::

    find . -type f -printf '%P\\n' | LC_ALL=C sort | xargs -r -d '\\n' sha256sum | sha256sum

(prints the hex, followed by ``  -``; ``find -type f`` skips symbolic links instead of
refusing them).
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from .triton.repository import revision_prefix

CHUNK = 1 << 20  # bytes read at a time


class DigestError(ValueError):
    """The directory or bucket prefix has no canonical digest (names the entry and why)."""


@dataclass(frozen=True)
class Entry:
    path: str  # relative, "/"-separated
    sha256: str  # hex of the content


def artifact_prefix(model: str, version: str) -> str:
    """Bucket key prefix of a revision's model directory (Triton's version directory)."""
    return f"{revision_prefix(model, version)}/{model}/{version}/"


def check_path(path: str) -> str:
    """``path`` if it is a canonical entry path, else DigestError naming it."""
    parts = path.split("/")
    if any(p in ("", ".", "..") for p in parts):
        raise DigestError(f"{path!r}: empty, '.' or '..' path components are not accepted")
    if "\n" in path or "\\" in path:
        raise DigestError(f"{path!r}: newlines and backslashes are not accepted in file names")
    return path


def _hash_stream(stream: BinaryIO) -> str:
    h = hashlib.sha256()
    while chunk := stream.read(CHUNK):
        h.update(chunk)
    return h.hexdigest()


def digest_of(entries: Iterable[Entry]) -> str:
    """The digest of entries (step 4 to 6 of the walk)."""
    ordered = sorted(entries, key=lambda e: e.path.encode("utf-8"))
    if not ordered:
        raise DigestError("no files: an empty model directory has no digest")
    manifest = hashlib.sha256()
    for e in ordered:
        manifest.update(f"{e.sha256}  {e.path}\n".encode())
    return "sha256:" + manifest.hexdigest()


def _walk(root: Path) -> Iterator[Entry]:
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in sorted(dirnames):
            full = Path(dirpath, name)
            if full.is_symlink():
                raise DigestError(f"{full}: symbolic links are not accepted")
        for name in filenames:
            full = Path(dirpath, name)
            mode = os.lstat(full).st_mode
            if not stat.S_ISREG(mode):
                raise DigestError(f"{full}: only regular files are accepted (no symbolic links)")
            rel = full.relative_to(root).as_posix()
            try:
                rel.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise DigestError(f"{full}: the file name is not valid UTF-8") from exc
            with open(full, "rb") as fh:
                yield Entry(check_path(rel), _hash_stream(fh))


def directory_digest(root: Path) -> str:
    """The digest of a local model directory."""
    if not root.is_dir():
        raise DigestError(f"{root}: not a directory")
    return digest_of(_walk(root))


class ObjectStore(Protocol):
    """The S3 calls the bucket digest needs (a boto3 S3 client satisfies it)."""

    def get_paginator(self, operation_name: str) -> Any: ...
    def get_object(self, **kwargs: Any) -> Any: ...


def bucket_entries(s3: ObjectStore, bucket: str, prefix: str) -> list[Entry]:
    """The entries of the model directory at ``prefix`` (ends with ``/``) in ``bucket``:
    every object's current version under it, streamed and hashed."""
    entries = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            key: str = obj["Key"]
            rel = key[len(prefix) :]
            if key.endswith("/") and obj.get("Size", 0) == 0:
                continue  # a "folder" marker, not a file
            body = s3.get_object(Bucket=bucket, Key=key)["Body"]
            try:
                entries.append(Entry(check_path(rel), _hash_stream(body)))
            finally:
                body.close()
    return entries


def bucket_digest(s3: ObjectStore, bucket: str, model: str, version: str) -> str:
    """The digest of a revision's model directory as it is in the bucket."""
    prefix = artifact_prefix(model, version)
    try:
        return digest_of(bucket_entries(s3, bucket, prefix))
    except DigestError as exc:
        raise DigestError(f"s3://{bucket}/{prefix}: {exc}") from exc
