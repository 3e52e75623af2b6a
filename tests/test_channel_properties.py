"""Channel-properties protobuf: wire compatibility with IQM's schema and the feedback groups."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from reference_python import REFERENCE_MISSING, REFERENCE_PYTHON

from iqm_client_async._channel_properties import decode_feedback_groups, encode_channel_properties
from iqm_client_async._errors import ResponseDecodeError

# The archived reference test's channels: QB1, QB2 read PL-1, QB3 reads PL-2, QB1's flux AWG reads nothing.
AWG_SOURCES = {
    "QB1__drive.awg": ["PL-1__readout"],
    "QB2__drive.awg": ["PL-1__readout"],
    "QB3__drive.awg": ["PL-2__readout"],
    "QB1__flux.awg": [],
}
READOUT = ["PL-1__readout", "PL-2__readout"]


def test_feedback_groups_of_the_reference_example() -> None:
    data = encode_channel_properties(AWG_SOURCES, READOUT)
    assert decode_feedback_groups(data, ["QB1", "QB2", "QB3"]) == (
        frozenset({"QB1", "QB2"}),
        frozenset({"QB3"}),
    )


def test_channels_of_unknown_components_and_readout_channels_are_ignored() -> None:
    data = encode_channel_properties(
        {**AWG_SOURCES, "TC-1-2__flux.awg": ["PL-1__readout"], "QB9__drive.awg": ["PL-3__readout"]},
        [*READOUT, "QB2__readout"],
    )
    assert decode_feedback_groups(data, ["QB1", "QB2", "QB3"]) == (
        frozenset({"QB1", "QB2"}),
        frozenset({"QB3"}),
    )


def test_identical_groups_merge_and_equal_sizes_sort_by_qubit() -> None:
    data = encode_channel_properties(
        {
            "QB10__drive.awg": ["PL-2__readout"],
            "QB2__drive.awg": ["PL-1__readout", "PL-3__readout"],
            "QB1__drive.awg": ["PL-1__readout", "PL-3__readout"],
        },
        ["PL-1__readout", "PL-2__readout", "PL-3__readout"],
    )
    assert decode_feedback_groups(data, ["QB1", "QB2", "QB10"]) == (
        frozenset({"QB1", "QB2"}),
        frozenset({"QB10"}),
    )
    one_source = encode_channel_properties(
        {f"QB{i}__drive.awg": ["PL-1__readout"] for i in (1, 2, 3)}, READOUT
    )
    assert decode_feedback_groups(one_source, ["QB1", "QB2", "QB3"]) == (frozenset({"QB1", "QB2", "QB3"}),)
    assert decode_feedback_groups(b"", ["QB1"]) == ()


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _length_delimited(field_number: int, payload: bytes) -> bytes:
    return _varint(field_number << 3 | 2) + _varint(len(payload)) + payload


def test_hand_built_bytes_with_the_published_field_numbers_decode() -> None:
    # ChannelPropertyDictionary.channel_property_mapping = 1 (map entry: key = 1, value = 2);
    # ChannelPropertyEntry.awg = 1, .ro = 2; AWGProperties.fast_feedback_sources = 3.
    def entry(name: str, value: bytes) -> bytes:
        return _length_delimited(1, _length_delimited(1, name.encode()) + _length_delimited(2, value))

    def awg(*sources: str) -> bytes:
        return _length_delimited(1, b"".join(_length_delimited(3, s.encode()) for s in sources))

    data = (
        entry("QB1__drive.awg", awg("PL-1__readout"))
        + entry("QB2__drive.awg", awg("PL-1__readout"))
        + entry("QB3__drive.awg", awg("PL-2__readout"))
        + entry("PL-1__readout", _length_delimited(2, b""))
    )
    assert decode_feedback_groups(data, ["QB1", "QB2", "QB3"]) == (
        frozenset({"QB1", "QB2"}),
        frozenset({"QB3"}),
    )


def test_encoded_bytes_carry_the_published_field_numbers() -> None:
    data = encode_channel_properties({"QB1__drive.awg": ["PL-1__readout"]}, [])
    # map entry (field 1) > value (field 2) > awg (field 1) > ... > fast_feedback_sources (field 3)
    assert _length_delimited(3, b"PL-1__readout") in data
    assert data.startswith(bytes([1 << 3 | 2]))
    assert _length_delimited(1, b"QB1__drive.awg") in data


def test_garbage_is_a_decode_error() -> None:
    with pytest.raises(ResponseDecodeError, match="Channel properties"):
        decode_feedback_groups(b"\xff\xff\xff", ["QB1"])


@pytest.mark.skipif(not REFERENCE_PYTHON.exists(), reason=REFERENCE_MISSING)
def test_the_reference_decodes_what_we_encode(tmp_path: Path) -> None:
    path = tmp_path / "channel_properties.bin"
    path.write_bytes(encode_channel_properties(AWG_SOURCES, READOUT))
    script = r"""
import json, sys
from iqm.models.channel_properties import AWGProperties
from iqm.station_control.client.serializers.channel_property_serializer import unpack_channel_properties
decoded = unpack_channel_properties(open(sys.argv[1], "rb").read())
print(json.dumps({
    name: {"kind": type(props).__name__,
           "sources": list(props.fast_feedback_sources) if isinstance(props, AWGProperties) else None,
           "sampling_rate": props.sampling_rate}
    for name, props in decoded.items()
}))
"""
    completed = subprocess.run(
        [str(REFERENCE_PYTHON), "-W", "ignore", "-c", script, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    decoded = json.loads(completed.stdout)
    assert set(decoded) == set(AWG_SOURCES) | set(READOUT)
    for name, sources in AWG_SOURCES.items():
        assert decoded[name]["kind"] == "AWGProperties"
        assert decoded[name]["sources"] == sources
        assert decoded[name]["sampling_rate"] > 0
    for name in READOUT:
        assert decoded[name]["kind"] == "ReadoutProperties"
