"""Channel properties (protobuf) and the feedback groups derived from them.

The server publishes the properties of the control channels as a protobuf
``iqm.data_definitions.common.v1.ChannelPropertyDictionary``. There is no generated ``_pb2`` module
here: the messages are declared at import time from a ``FileDescriptorProto`` with the same package,
names and field numbers, so the bytes are wire-compatible with the server's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import DecodeError

from ._errors import ResponseDecodeError
from .models.architecture import component_sort_key

__all__ = ["decode_feedback_groups", "encode_channel_properties"]

_PACKAGE = "iqm.data_definitions.common.v1"
_FILE_NAME = "iqm_client_async/channel_properties.proto"

# Typical values of IQM control electronics; the client only reads the feedback sources.
_AWG_SAMPLING_RATE = 2.0e9
_READOUT_SAMPLING_RATE = 2.0e9
_GRANULARITY_SAMPLES = 8
_MIN_SAMPLES = 16
_AWG_INSTRUCTIONS = ("VirtualRZ", "ConditionalInstruction", "Wait", "RealPulse", "IQPulse")
_READOUT_INSTRUCTIONS = ("Wait", "ReadoutTrigger", "MultiplexedIQPulse")

_F = descriptor_pb2.FieldDescriptorProto


def _add_field(
    message: descriptor_pb2.DescriptorProto,
    name: str,
    number: int,
    field_type: int,
    *,
    repeated: bool = False,
    type_name: str | None = None,
    oneof_index: int | None = None,
) -> None:
    field = message.field.add(
        name=name,
        number=number,
        type=field_type,
        label=_F.LABEL_REPEATED if repeated else _F.LABEL_OPTIONAL,
    )
    if type_name is not None:
        field.type_name = f".{_PACKAGE}.{type_name}"
    if oneof_index is not None:
        field.oneof_index = oneof_index


def _file_descriptor() -> descriptor_pb2.FileDescriptorProto:
    """The schema of ``channel_properties.proto`` (field numbers as published by IQM)."""
    proto = descriptor_pb2.FileDescriptorProto(name=_FILE_NAME, package=_PACKAGE, syntax="proto3")

    common = proto.message_type.add(name="ChannelProperties")
    _add_field(common, "sampling_rate", 1, _F.TYPE_DOUBLE)
    _add_field(common, "instruction_duration_granularity", 2, _F.TYPE_DOUBLE)
    _add_field(common, "instruction_duration_min", 3, _F.TYPE_DOUBLE)
    _add_field(common, "compatible_instructions", 4, _F.TYPE_STRING, repeated=True)
    _add_field(common, "instruction_duration_granularity_samples", 5, _F.TYPE_UINT64)
    _add_field(common, "instruction_duration_min_samples", 6, _F.TYPE_UINT64)

    awg = proto.message_type.add(name="AWGProperties")
    _add_field(awg, "channel_properties", 1, _F.TYPE_MESSAGE, type_name="ChannelProperties")
    _add_field(awg, "fast_feedback_sources", 3, _F.TYPE_STRING, repeated=True)
    _add_field(awg, "local_oscillator", 4, _F.TYPE_BOOL)
    _add_field(awg, "mixer_correction", 5, _F.TYPE_BOOL)

    readout = proto.message_type.add(name="ReadoutProperties")
    _add_field(readout, "channel_properties", 1, _F.TYPE_MESSAGE, type_name="ChannelProperties")
    _add_field(readout, "integration_start_dead_time", 4, _F.TYPE_DOUBLE)
    _add_field(readout, "integration_stop_dead_time", 5, _F.TYPE_DOUBLE)
    _add_field(readout, "integration_start_dead_time_samples", 6, _F.TYPE_UINT64)
    _add_field(readout, "integration_stop_dead_time_samples", 7, _F.TYPE_UINT64)

    entry = proto.message_type.add(name="ChannelPropertyEntry")
    entry.oneof_decl.add(name="value")
    _add_field(entry, "awg", 1, _F.TYPE_MESSAGE, type_name="AWGProperties", oneof_index=0)
    _add_field(entry, "ro", 2, _F.TYPE_MESSAGE, type_name="ReadoutProperties", oneof_index=0)

    dictionary = proto.message_type.add(name="ChannelPropertyDictionary")
    map_entry = dictionary.nested_type.add(name="ChannelPropertyMappingEntry")
    map_entry.options.map_entry = True
    _add_field(map_entry, "key", 1, _F.TYPE_STRING)
    _add_field(map_entry, "value", 2, _F.TYPE_MESSAGE, type_name="ChannelPropertyEntry")
    _add_field(
        dictionary,
        "channel_property_mapping",
        1,
        _F.TYPE_MESSAGE,
        repeated=True,
        type_name="ChannelPropertyDictionary.ChannelPropertyMappingEntry",
    )
    return proto


# A private pool: the reference's generated module may be imported in the same process, and the
# default pool refuses a second definition of the same message names.
_POOL = descriptor_pool.DescriptorPool()
_POOL.Add(_file_descriptor())
_ChannelPropertyDictionary: Any = message_factory.GetMessageClass(
    _POOL.FindMessageTypeByName(f"{_PACKAGE}.ChannelPropertyDictionary")
)


def encode_channel_properties(
    awg_feedback_sources: Mapping[str, Sequence[str]], readout_channels: Sequence[str]
) -> bytes:
    """Serialize channel properties the way the server publishes them.

    Args:
        awg_feedback_sources: AWG channel name (``"{component}__{channel}"``, e.g. ``QB1__drive.awg``)
            -> the readout channels it can take fast feedback from (e.g. ``["PL-1__readout"]``).
        readout_channels: names of the readout channels, e.g. ``PL-1__readout``.

    Returns:
        The serialized ``ChannelPropertyDictionary``.
    """
    dictionary = _ChannelPropertyDictionary()
    mapping = dictionary.channel_property_mapping
    for name, sources in awg_feedback_sources.items():
        awg = mapping[name].awg
        _fill_common(awg.channel_properties, _AWG_SAMPLING_RATE, _AWG_INSTRUCTIONS)
        awg.fast_feedback_sources.extend(sources)
        awg.local_oscillator = True
        awg.mixer_correction = name.endswith("drive.awg")
    for name in readout_channels:
        readout = mapping[name].ro
        _fill_common(readout.channel_properties, _READOUT_SAMPLING_RATE, _READOUT_INSTRUCTIONS)
    data: bytes = dictionary.SerializeToString(deterministic=True)
    return data


def _fill_common(properties: Any, sampling_rate: float, instructions: Sequence[str]) -> None:
    properties.sampling_rate = sampling_rate
    properties.instruction_duration_granularity = float(_GRANULARITY_SAMPLES)
    properties.instruction_duration_min = float(_MIN_SAMPLES)
    properties.instruction_duration_granularity_samples = _GRANULARITY_SAMPLES
    properties.instruction_duration_min_samples = _MIN_SAMPLES
    properties.compatible_instructions.extend(instructions)


def decode_feedback_groups(data: bytes, qubits: Sequence[str]) -> tuple[frozenset[str], ...]:
    """Groups of qubits that can receive real-time feedback (for ``cc_prx``) from each other.

    Every AWG channel named ``"{qubit}__..."`` of a known qubit joins the group of each of its fast
    feedback sources. Identical groups are merged. A qubit may be in several groups; a single group
    means there is no routing restriction.

    Args:
        data: the serialized ``ChannelPropertyDictionary``.
        qubits: the qubits of the quantum computer (channels of other components are ignored).

    Returns:
        The distinct groups, largest first (ties in the order of their sorted qubit names).

    Raises:
        ResponseDecodeError: ``data`` is not a channel property dictionary.
    """
    dictionary = _ChannelPropertyDictionary()
    try:
        dictionary.ParseFromString(data)
    except DecodeError as exc:
        raise ResponseDecodeError(f"Channel properties are not a valid protobuf message: {exc}") from None
    known = set(qubits)
    groups: dict[str, set[str]] = {}
    for name, entry in dictionary.channel_property_mapping.items():
        qubit = name.split("__", 1)[0]
        if qubit not in known or entry.WhichOneof("value") != "awg":
            continue
        for source in entry.awg.fast_feedback_sources:
            groups.setdefault(source, set()).add(qubit)
    distinct = {frozenset(group) for group in groups.values()}
    return tuple(sorted(distinct, key=lambda group: (-len(group), sorted(map(component_sort_key, group)))))
