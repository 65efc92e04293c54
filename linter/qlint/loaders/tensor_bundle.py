"""Read a TensorFlow checkpoint (a SavedModel's ``variables/``) as data, never with TF.

``variables.index`` is a table in LevelDB's format (``tensorflow/core/lib/io/table``):
data blocks of prefix-compressed key/value entries, an index block pointing at them and a
48-byte footer ending in a magic number.  Each key is a tensor's checkpoint key, each
value a ``BundleEntryProto``: dtype, shape, shard, offset, size and CRC32C of the
tensor's bytes in ``variables.data-SSSSS-of-NNNNN``; the empty key holds the
``BundleHeaderProto`` (number of shards, byte order).

Every read is bounded (`MAX_INDEX_BYTES`, `MAX_ENTRIES`, the caller's byte limits),
every offset checked against what was read, only regular files are opened (no symbolic
link, pipe or device), and anything malformed raises `BundleError`: the caller treats a
checkpoint it cannot read as absent.
"""

from __future__ import annotations

import os
import stat
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from google.protobuf import message as pb_message

from qlint.loaders import _tf_protos

MAX_INDEX_BYTES = 64 * 1024**2
MAX_ENTRIES = 1_000_000
TABLE_MAGIC = 0xDB4775248B80FB57
FOOTER_BYTES = 48
BLOCK_TRAILER_BYTES = 5  # compression type, CRC32C
STRING_DTYPE = 7


class BundleError(Exception):
    """The checkpoint is missing, malformed, compressed or too large to read."""


@dataclass(frozen=True)
class Entry:
    """Where one tensor's bytes are, and what they are."""

    dtype: int
    shape: tuple[int, ...]
    shard: int
    offset: int
    size: int
    crc32c: int


def _regular(path: str) -> None:
    """Refuse anything but a regular file of the model's own: a symbolic link (which may
    lead out of the model), a pipe or a device (which may never end)."""
    if not stat.S_ISREG(os.lstat(path).st_mode):
        raise BundleError("not a regular file")


def _varint(buf: bytes, pos: int, end: int) -> tuple[int, int]:
    value = shift = 0
    while shift < 64:
        if pos >= end:
            raise BundleError("truncated varint")
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value, pos
        shift += 7
    raise BundleError("varint too long")


def _block(data: bytes, offset: int, size: int) -> bytes:
    """The block a handle points at, uncompressed blocks only."""
    end = offset + size
    if offset < 0 or end + BLOCK_TRAILER_BYTES > len(data):
        raise BundleError("block outside the index")
    if data[end] != 0:
        raise BundleError("compressed index blocks are not read")
    return data[offset:end]


def _entries(block: bytes) -> Iterator[tuple[bytes, bytes]]:
    """A block's (key, value) pairs (keys stored as the length shared with the previous
    key and the rest)."""
    if len(block) < 4:
        raise BundleError("block too short")
    (restarts,) = struct.unpack_from("<I", block, len(block) - 4)
    end = len(block) - 4 - 4 * restarts
    if end < 0:
        raise BundleError("bad restart count")
    pos, key = 0, b""
    while pos < end:
        shared, pos = _varint(block, pos, end)
        unshared, pos = _varint(block, pos, end)
        length, pos = _varint(block, pos, end)
        if shared > len(key) or pos + unshared + length > end:
            raise BundleError("entry outside its block")
        key = key[:shared] + block[pos:pos + unshared]
        pos += unshared
        yield key, block[pos:pos + length]
        pos += length


def _handle(value: bytes) -> tuple[int, int]:
    offset, pos = _varint(value, 0, len(value))
    size, _ = _varint(value, pos, len(value))
    return offset, size


def read_index(path: str) -> tuple[int, dict[str, Entry]]:
    """(number of shards, checkpoint key -> `Entry`) of the index file at ``path``."""
    try:
        _regular(path)
        if os.path.getsize(path) > MAX_INDEX_BYTES:
            raise BundleError("index too large")
        with open(path, "rb") as fh:
            data = fh.read(MAX_INDEX_BYTES + 1)
    except OSError as exc:
        raise BundleError("cannot read the index") from exc
    if len(data) < FOOTER_BYTES or len(data) > MAX_INDEX_BYTES:
        raise BundleError("index too short or too large")
    footer = data[-FOOTER_BYTES:]
    if struct.unpack_from("<Q", footer, FOOTER_BYTES - 8)[0] != TABLE_MAGIC:
        raise BundleError("not a table")
    _, pos = _varint(footer, 0, FOOTER_BYTES)  # the metaindex block (unused): offset,
    _, pos = _varint(footer, pos, FOOTER_BYTES)  # size
    index_offset, index_size = _handle(footer[pos:])
    msgs = _tf_protos.messages()
    shards, out = 1, dict[str, Entry]()
    for _, handle in _entries(_block(data, index_offset, index_size)):
        for key, value in _entries(_block(data, *_handle(handle))):
            if len(out) >= MAX_ENTRIES:
                raise BundleError("too many entries")
            try:
                if not key:
                    header: Any = msgs["BundleHeaderProto"].FromString(value)
                    if header.endianness != 0:
                        raise BundleError("big-endian checkpoint")
                    shards = max(1, header.num_shards)
                    continue
                e: Any = msgs["BundleEntryProto"].FromString(value)
            except (pb_message.DecodeError, RecursionError) as exc:
                raise BundleError("bad entry") from exc
            out[key.decode("utf-8", "replace")] = Entry(
                e.dtype, tuple(int(d.size) for d in e.shape.dim), e.shard_id, e.offset,
                e.size, e.crc32c)
    return shards, out


def read_bytes(directory: str, shards: int, entry: Entry, limit: int) -> bytes:
    """The bytes of ``entry`` in its data shard under ``directory`` (at most ``limit``)."""
    if entry.size > limit or entry.offset < 0 or not 0 <= entry.shard < shards:
        raise BundleError("entry too large or outside its shard")
    path = os.path.join(directory, f"variables.data-{entry.shard:05d}-of-{shards:05d}")
    try:
        _regular(path)
        with open(path, "rb") as fh:
            fh.seek(entry.offset)
            data = fh.read(entry.size)
    except OSError as exc:
        raise BundleError("cannot read a data shard") from exc
    if len(data) != entry.size:
        raise BundleError("data shard too short")
    return data


def scalar_string(data: bytes) -> bytes:
    """The value of a scalar string tensor as a bundle stores it: its length (varint), a
    checksum of the lengths (4 bytes), the bytes."""
    length, pos = _varint(data, 0, len(data))
    pos += 4
    if pos + length > len(data):
        raise BundleError("string outside its tensor")
    return data[pos:pos + length]
