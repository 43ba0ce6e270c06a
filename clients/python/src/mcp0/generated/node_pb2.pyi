from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Call(_message.Message):
    __slots__ = ("envelope", "payload")
    ENVELOPE_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    envelope: bytes
    payload: bytes
    def __init__(self, envelope: _Optional[bytes] = ..., payload: _Optional[bytes] = ...) -> None: ...

class TraceHead(_message.Message):
    __slots__ = ("seq", "head")
    SEQ_FIELD_NUMBER: _ClassVar[int]
    HEAD_FIELD_NUMBER: _ClassVar[int]
    seq: int
    head: str
    def __init__(self, seq: _Optional[int] = ..., head: _Optional[str] = ...) -> None: ...

class Result(_message.Message):
    __slots__ = ("payload", "trace", "envelope_hash")
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    TRACE_FIELD_NUMBER: _ClassVar[int]
    ENVELOPE_HASH_FIELD_NUMBER: _ClassVar[int]
    payload: bytes
    trace: TraceHead
    envelope_hash: bytes
    def __init__(self, payload: _Optional[bytes] = ..., trace: _Optional[_Union[TraceHead, _Mapping]] = ..., envelope_hash: _Optional[bytes] = ...) -> None: ...

class Progress(_message.Message):
    __slots__ = ("progress", "result")
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    progress: bytes
    result: Result
    def __init__(self, progress: _Optional[bytes] = ..., result: _Optional[_Union[Result, _Mapping]] = ...) -> None: ...
