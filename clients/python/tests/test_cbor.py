"""The CBOR profile: bytes equal to what the TypeScript side (cborg, rfc8949EncodeOptions) gives for
the same values, map keys in RFC 8949 §4.2.1 order, and a decoder as strict as the node's."""

from __future__ import annotations

import pytest

from mcp0 import Mcp0Error, cbor

# Each expected hex was printed by cborg 6.1.5's encode(value, rfc8949EncodeOptions), the encoder
# abi/src/cbor/cbor.ts uses.
CBORG = [
    ({"b": 1, "a": 2, "aa": 3, "": 4, "z": 5}, "a56004616102616201617a0562616103"),
    ({"é": 1, "z": 2, "ab": 3}, "a3617a026261620362c3a901"),
    (
        [0, 23, 24, 255, 256, 65535, 65536, 4294967295, 4294967296, -1, -24, -25, -256, -257, 1765000005000],
        "8f0017181818ff19010019ffff1a000100001affffffff1b00000001000000002037381838ff3901001b0000019af232c588",
    ),
    ([1.5, 0.1, 100000.5, -2.5, 65504.5, 3.4028234663852886e38], "86f93e00fb3fb999999999999afa47c35040f9c100fa477fe080fa7f7fffff"),
    (
        {"list": [True, False, None, "x", bytes([1, 2, 3])], "map": {"y": {"z": []}, "x": {}}},
        "a2636d6170a26178a06179a1617a80646c69737485f5f4f6617843010203",
    ),
]


@pytest.mark.parametrize(("value", "expected"), CBORG)
def test_encodes_as_cborg_does(value: object, expected: str) -> None:
    assert cbor.encode(value).hex() == expected
    assert cbor.decode(bytes.fromhex(expected)) == value


def test_keys_across_a_head_size_sort_by_encoded_bytes() -> None:
    # A 23-byte key has a one-byte head (0x77), a 24-byte key a two-byte head (0x78 0x18): both
    # RFC 8949's bytewise order and RFC 7049's length-first order put the 23-byte key first, and so
    # did cborg; the same at 255/256 bytes (0x78 0xff, 0x79 0x01 0x00).
    assert cbor.encode({"j" * 24: 1, "k" * 23: 2}).hex() == "a2" + "77" + "6b" * 23 + "02" + "7818" + "6a" * 24 + "01"
    assert cbor.encode({"a" * 256: 1, "z" * 255: 2}).hex() == "a2" + "78ff" + "7a" * 255 + "02" + "790100" + "61" * 256 + "01"


def test_map_order_is_the_bytewise_order_of_the_encoded_keys() -> None:
    keys = ["", "a", "b", "aa", "ab", "ba", "zzz", "é", "\u00ff", "\u0100", "x" * 30, "y" * 24]
    value = {k: i for i, k in enumerate(reversed(keys))}
    encoded = cbor.encode(value)
    decoded_order = list(cbor.decode(encoded).keys())
    assert decoded_order == sorted(keys, key=lambda k: cbor.encode(k))
    # Insertion order does not matter.
    assert cbor.encode(dict(reversed(list(value.items())))) == encoded


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({1: "a"}, "map keys must be text"),
        ({b"k": "a"}, "map keys must be text"),
        (1 << 64, "outside -2\\^64"),
        (-(1 << 64) - 1, "outside -2\\^64"),
        (float("nan"), "NaN"),
        (float("inf"), "NaN and infinities"),
        ({1, 2}, "cannot encode a set"),
        (object(), "cannot encode"),
    ],
)
def test_refuses_values_outside_the_profile(value: object, message: str) -> None:
    with pytest.raises(Mcp0Error, match=message) as e:
        cbor.encode(value)
    assert e.value.code == "EINPUT"


def test_integer_limits_are_in_the_profile() -> None:
    assert cbor.encode((1 << 64) - 1).hex() == "1b" + "ff" * 8
    assert cbor.encode(-(1 << 64)).hex() == "3b" + "ff" * 8


def nested(depth: int) -> bytes:
    return bytes.fromhex("81" * (depth - 1) + "80")


def test_nesting_is_capped_at_64_both_ways() -> None:
    assert cbor.decode(nested(64)) is not None
    with pytest.raises(Mcp0Error, match="deeper than 64"):
        cbor.decode(nested(65))
    deep: list = []
    for _ in range(63):
        deep = [deep]
    assert cbor.encode(deep) == nested(64)
    with pytest.raises(Mcp0Error, match="deeper than 64"):
        cbor.encode([deep])


@pytest.mark.parametrize(
    ("hex_bytes", "message"),
    [
        ("", "0 bytes"),
        ("1801", "more bytes than necessary"),
        ("190017", "more bytes than necessary"),
        ("1a0000ffff", "more bytes than necessary"),
        ("1b00000000ffffffff", "more bytes than necessary"),
        ("5801ff", "more bytes than necessary"),
        ("9f01ff", "indefinite"),
        ("5f41ffff", "indefinite"),
        ("c11a00000000", "tag 1"),
        ("f7", "simple value 23"),
        ("f820", "simple value 32"),
        ("f97e00", "NaN"),
        ("fb7ff0000000000000", "infinities"),
        ("a2616101616102", "(?i)duplicate map key"),
        ("a10101", "map keys must be text"),
        ("62c328", "invalid UTF-8"),
        ("0101", "1 bytes after"),
        ("82", "truncated"),
        ("19ff", "truncated head"),
        ("43ab", "truncated string"),
        ("9bffffffffffffffff", "truncated"),
    ],
)
def test_decoding_is_strict(hex_bytes: str, message: str) -> None:
    with pytest.raises(Mcp0Error, match=message) as e:
        cbor.decode(bytes.fromhex(hex_bytes))
    assert e.value.code == "EINPUT"
