"""The TFRecord container and the ``tf.train.Example`` message, without TensorFlow.

A TFRecord file is a sequence of records, each: the data's length (uint64,
little-endian), the masked CRC-32C of those 8 bytes, the data, the masked
CRC-32C of the data. Our records hold ``tf.train.Example`` protos whose
features are single byte strings or single non-negative integers; their
protobuf wire form is written and read here directly (the generated
``example_pb2`` modules of TensorFlow and of the ``tfrecord`` package claim
the same protobuf names, so the two cannot live in one process). Encoding
follows protobuf's deterministic serialization (map entries sorted by key),
so ``tf.train.Example.SerializeToString(deterministic=True)`` gives the same
bytes (``tests/network/test_records.py`` checks both ways with TensorFlow).
"""

from __future__ import annotations

import struct
from typing import BinaryIO, Iterator

_LEN = 2  # protobuf wire type of length-delimited fields
_VARINT = 0


def masked_crc(data: bytes) -> bytes:
    """TFRecord's masked CRC-32C of ``data``, 4 bytes little-endian."""
    import crc32c

    crc = crc32c.crc32c(data)
    return struct.pack("<I", (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF)


def write_record(stream: BinaryIO, data: bytes) -> None:
    length = struct.pack("<Q", len(data))
    stream.write(length + masked_crc(length) + data + masked_crc(data))


def read_records(stream: BinaryIO) -> Iterator[bytes]:
    """The records of a TFRecord stream, each checked against its CRCs."""
    number = 0
    while True:
        header = stream.read(12)
        if not header:
            return
        if len(header) < 12 or masked_crc(header[:8]) != header[8:12]:
            raise ValueError(f"record {number}: damaged length")
        (length,) = struct.unpack("<Q", header[:8])
        data = stream.read(length)
        footer = stream.read(4)
        if len(data) != length or masked_crc(data) != footer:
            raise ValueError(f"record {number}: damaged data (length or CRC)")
        yield data
        number += 1


def _varint(value: int) -> bytes:
    if value < 0:
        raise ValueError(f"only non-negative integers are stored, not {value}")
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        if value:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | _LEN) + _varint(len(payload)) + payload


def encode_example(features: dict[str, bytes | int]) -> bytes:
    """A ``tf.train.Example`` of one-value features (bytes or int)."""
    entries = []
    for key in sorted(features):
        value = features[key]
        if isinstance(value, bytes):
            feature = _field(1, _field(1, value))  # Feature.bytes_list(1) -> BytesList.value(1)
        else:
            feature = _field(3, _field(1, _varint(int(value))))  # Feature.int64_list(3) -> packed Int64List.value(1)
        entries.append(_field(1, _field(1, key.encode()) + _field(2, feature)))  # Features.feature(1): map entry
    return _field(1, b"".join(entries))  # Example.features(1)


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        if pos >= len(data) or shift > 63:
            raise ValueError("truncated or overlong varint")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7


def _fields(data: bytes) -> Iterator[tuple[int, int, object]]:
    """(field number, wire type, value) of a message; length-delimited
    values as bytes, varints as int."""
    pos = 0
    while pos < len(data):
        key, pos = _read_varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == _VARINT:
            value, pos = _read_varint(data, pos)
        elif wire == _LEN:
            length, pos = _read_varint(data, pos)
            if pos + length > len(data):
                raise ValueError("truncated field")
            value, pos = data[pos : pos + length], pos + length
        else:
            raise ValueError(f"wire type {wire} is not used by tf.train.Example")
        yield number, wire, value


def decode_example(data: bytes) -> dict[str, bytes | list[int]]:
    """Features of a ``tf.train.Example``: bytes features as their single
    value, int64 features as lists (packed or not)."""
    features: dict[str, bytes | list[int]] = {}
    for number, _, message in _fields(bytes(data)):
        if number != 1:
            continue
        for entry_number, _, entry in _fields(message):
            if entry_number != 1:
                continue
            key, feature = b"", b""
            for n, _, v in _fields(entry):
                key, feature = (v, feature) if n == 1 else (key, v) if n == 2 else (key, feature)
            for kind, _, payload in _fields(feature):
                if kind == 1:
                    values = [v for n, _, v in _fields(payload) if n == 1]
                    features[key.decode()] = values[0] if len(values) == 1 else values
                elif kind == 3:
                    ints = []
                    for n, wire, v in _fields(payload):
                        if n != 1:
                            continue
                        if wire == _VARINT:
                            ints.append(v)
                        else:  # packed
                            pos = 0
                            while pos < len(v):
                                value, pos = _read_varint(v, pos)
                                ints.append(value)
                    features[key.decode()] = ints
                else:
                    raise ValueError(f"feature {key.decode()!r}: only bytes and int64 features are stored")
    return features
