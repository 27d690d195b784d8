"""The JSON and the compression of what the engine keeps at rest: instance states
(``instance.state``) and the dossier aggregate (``dossier.state``).

JSON text is written and read with orjson (:func:`dumps`, :func:`loads`): compact JSON, as
``json.dumps(data, separators=(",", ":"))`` wrote it, except that characters outside ASCII are
written as UTF-8 instead of ``\\u`` escapes (the same data when read back), 16 times faster for a
4 KB trajectory state (71 -> 4.4 µs; reading 41 -> 26 µs, 2026-12-03). What the hash chain
covers is not written here: the journal keeps the standard library's canonical JSON
(:mod:`engine.journal`), byte for byte.

Both are compact JSON of 1 to 8 KB, compressed with zlib at level 6. ``zlib.compress(data, 6)``
sets up a 32 KiB window and its hash tables for every call, which for data this small is most of
the work: 70 µs for a 3.7 KB trajectory state, against 30 µs with an 8 KiB window and the default
hash size, for the same 940 bytes (200 stored states, 2026-12-03). :func:`compress` uses that
window. Its output is a standard zlib stream whose header names its window, so ``zlib.decompress``
reads it, as it reads the streams of ``zlib.compress`` that older releases wrote.
"""
from __future__ import annotations

import json
import zlib

import orjson

#: zlib's compression level (as before: ``zlib.compress(data, 6)``)
LEVEL = 6
#: log2 of the window: 8 KiB, the size of the largest states (zlib's default is 15: 32 KiB)
WINDOW_BITS = 13


def compress(data: bytes) -> bytes:
    """``data`` as a zlib stream (level :data:`LEVEL`, window of 2 ** :data:`WINDOW_BITS` bytes)."""
    packer = zlib.compressobj(LEVEL, zlib.DEFLATED, WINDOW_BITS)
    return packer.compress(data) + packer.flush()


def dumps(data, default=None) -> bytes:
    """Compact JSON of ``data`` as UTF-8 bytes; ``default`` writes what JSON has no type for (dates and
    dataclasses are handed to it too, not written by orjson's own rules)."""
    return orjson.dumps(data, default=default,
                        option=orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS)


def loads(text: bytes | str):
    """The data of JSON text at rest; what orjson refuses and the standard library reads (``NaN``, an
    integer beyond 64 bits, which ``json.dumps`` could once have written) is read by the latter."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)
