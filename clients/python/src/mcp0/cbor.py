"""The ABI's CBOR profile (abi/ABI.md §6) in Python: RFC 8949 §4.2.1 core deterministic encoding
and the strict decoding the node applies, so hashes and signatures over CBOR are the TypeScript
side's (cborg with ``rfc8949EncodeOptions``, abi/src/cbor/cbor.ts) byte for byte.

Map keys are sorted by the bytewise order of their encodings, as RFC 8949 §4.2.1 says. cbor2's
``canonical=True`` sorts by RFC 7049 §3.9's order instead (shorter encoding first, then bytewise),
which is a different order once keys of different major types meet (``-1`` and ``1000``, ``"a"``
and ``b"abc"``); for the text keys the profile allows the two agree, since a text key's head
grows with its length. This module sorts containers itself and leaves only scalars to cbor2
(whose canonical mode gives the shortest integer heads and the shortest float that keeps the
value), so the order never depends on which rule a cbor2 release follows.

The value space is the profile's: None, bool, int (-2^64 to 2^64 - 1), finite float, str, bytes,
lists (or tuples) and dicts with str keys. A node decodes maps into objects and refuses any other
key type, so the encoder refuses one too, early, with EINPUT.
"""

from __future__ import annotations

import math
import struct
from typing import Any, Union

import cbor2

from .errors import Mcp0Error

#: The deepest nesting either side accepts; deeper input is hostile, not data.
MAX_DEPTH = 64

#: A value of the profile.
CborValue = Union[None, bool, int, float, str, bytes, list["CborValue"], dict[str, "CborValue"]]

_UINT_LIMIT = 1 << 64


def _bad(message: str, **details: Any) -> Mcp0Error:
    return Mcp0Error("EINPUT", f"CBOR: {message}", details)


def _head(major: int, n: int) -> bytes:
    """The shortest head of major type ``major`` with argument ``n`` (RFC 8949 §4.2.1)."""
    if n < 24:
        return bytes([major << 5 | n])
    if n < 0x100:
        return bytes([major << 5 | 24, n])
    if n < 0x10000:
        return bytes([major << 5 | 25]) + n.to_bytes(2, "big")
    if n < 0x100000000:
        return bytes([major << 5 | 26]) + n.to_bytes(4, "big")
    return bytes([major << 5 | 27]) + n.to_bytes(8, "big")


def _encode(value: Any, out: bytearray, depth: int) -> None:
    """Appends ``value``'s encoding to ``out``; ``depth`` is the nesting a container here would have."""
    if isinstance(value, (list, tuple, dict)) and depth > MAX_DEPTH:
        raise _bad(f"nesting deeper than {MAX_DEPTH} levels", maxDepth=MAX_DEPTH)
    if value is None or isinstance(value, (bool, str)):
        out += cbor2.dumps(value, canonical=True)
    elif isinstance(value, int):
        if not -_UINT_LIMIT <= value < _UINT_LIMIT:
            raise _bad(f"integer {value} is outside -2^64 to 2^64 - 1 (a bignum tag is not in the profile)")
        out += cbor2.dumps(value, canonical=True)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise _bad(f"{value} is not in the profile (NaN and infinities are refused)")
        out += cbor2.dumps(value, canonical=True)
    elif isinstance(value, (bytes, bytearray, memoryview)):
        b = bytes(value)
        out += _head(2, len(b)) + b
    elif isinstance(value, (list, tuple)):
        out += _head(4, len(value))
        for item in value:
            _encode(item, out, depth + 1)
    elif isinstance(value, dict):
        entries = []
        for k, v in value.items():
            if not isinstance(k, str):
                raise _bad(f"map keys must be text, got {type(k).__name__} {k!r}")
            key = bytearray()
            _encode(k, key, depth + 1)
            entries.append((bytes(key), v))
        # RFC 8949 §4.2.1: sorted by the bytewise lexicographic order of the keys' encodings.
        entries.sort(key=lambda e: e[0])
        out += _head(5, len(entries))
        for key, v in entries:
            out += key
            _encode(v, out, depth + 1)
    else:
        raise _bad(f"cannot encode a {type(value).__name__} (the profile has None, bool, int, float, str, bytes, list, dict)")


def encode(value: Any) -> bytes:
    """``value`` in deterministic CBOR (RFC 8949 §4.2.1); EINPUT outside the profile's values.

    Example::

        encode({"b": 1, "a": 2}).hex()  # 'a2616102616201': keys sorted by encoded bytes
    """
    out = bytearray()
    _encode(value, out, 1)
    return bytes(out)


def decode(data: bytes) -> Any:
    """One CBOR item, strictly (abi/src/cbor/cbor.ts ``decodeCbor``): indefinite lengths,
    non-shortest integer and length heads, tags, ``undefined`` and other simple values, NaN and
    infinities, keys that are not text, duplicate keys, invalid UTF-8, nesting deeper than 64 and
    trailing bytes are refused with EINPUT.

    Example::

        decode(bytes.fromhex("820102"))  # [1, 2]
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise _bad(f"expected bytes, got {type(data).__name__}")
    data = bytes(data)
    if len(data) == 0:
        raise _bad("expected one data item, got 0 bytes")
    end = _check(data, 0, 1)
    if end != len(data):
        raise _bad(f"{len(data) - end} bytes after the data item", length=len(data))
    try:
        return cbor2.loads(data, allow_indefinite=False, allow_duplicate_keys=False, max_depth=MAX_DEPTH + 1)
    except Exception as e:  # noqa: BLE001 - cbor2 raises several types; each is malformed input
        raise _bad(str(e), length=len(data)) from e


def _argument(data: bytes, pos: int) -> tuple[int, int, int, int]:
    """The head at ``pos``: (major, info, argument, position after the head), its argument checked
    to be in the shortest form."""
    if pos >= len(data):
        raise _bad("truncated: expected a data item", at=pos)
    initial = data[pos]
    major, info = initial >> 5, initial & 0x1F
    pos += 1
    if info < 24:
        return major, info, info, pos
    if info > 27:
        raise _bad(f"indefinite length or reserved head 0x{initial:02x} (only definite lengths are in the profile)", at=pos - 1)
    size = 1 << (info - 24)
    if pos + size > len(data):
        raise _bad("truncated head", at=pos - 1)
    arg = int.from_bytes(data[pos : pos + size], "big")
    if major != 7:
        smallest = 24 if size == 1 else 1 << (4 * size)
        if arg < smallest:
            raise _bad(f"integer or length {arg} encoded in more bytes than necessary", at=pos - 1)
    return major, info, arg, pos + size


def _check(data: bytes, pos: int, depth: int) -> int:
    """Checks the item at ``pos`` against the profile; returns where it ends."""
    start = pos
    major, info, arg, pos = _argument(data, pos)
    if major in (0, 1):
        return pos
    if major in (2, 3):
        end = pos + arg
        if end > len(data):
            raise _bad("truncated string", at=start)
        if major == 3:
            try:
                data[pos:end].decode("utf-8")
            except UnicodeDecodeError as e:
                raise _bad("invalid UTF-8 in a text string", at=start) from e
        return end
    if major in (4, 5):
        if depth > MAX_DEPTH:
            raise _bad(f"nesting deeper than {MAX_DEPTH} levels", maxDepth=MAX_DEPTH)
        if major == 4:
            for _ in range(arg):
                pos = _check(data, pos, depth + 1)
            return pos
        for _ in range(arg):
            if pos < len(data) and data[pos] >> 5 != 3:
                raise _bad("map keys must be text", at=pos)
            pos = _check(data, pos, depth + 1)
            pos = _check(data, pos, depth + 1)
        return pos
    if major == 6:
        raise _bad(f"tag {arg} is not in the profile", at=start)
    # Major 7: false, true, null and floats only.
    if info in (20, 21, 22):
        return pos
    if info in (25, 26, 27):
        fmt = {25: ">e", 26: ">f", 27: ">d"}[info]
        (f,) = struct.unpack(fmt, data[start + 1 : pos])
        if not math.isfinite(f):
            raise _bad("NaN and infinities are not in the profile", at=start)
        return pos
    raise _bad(f"simple value {arg} is not in the profile (undefined included)", at=start)
