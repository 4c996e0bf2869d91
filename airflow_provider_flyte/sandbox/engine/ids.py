"""Identifiers the way flytepropeller derives them (node unique ids, child execution names)."""

from __future__ import annotations

import base64

#: propeller's maxUniqueIDLength / maxLengthForSubWorkflow
MAX_UNIQUE_ID_LENGTH = 20

_STD = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_FLYTE = b"abcdefghijklmnopqrstuvwxyz123456"
_TRANSLATE = bytes.maketrans(_STD, _FLYTE)

_FNV32_OFFSET, _FNV32_PRIME = 0x811C9DC5, 0x01000193
_FNV64_OFFSET, _FNV64_PRIME = 0xCBF29CE484222325, 0x100000001B3


def _fnv1a(data: bytes, offset: int, prime: int, bits: int) -> bytes:
    mask = (1 << bits) - 1
    h = offset
    for byte in data:
        h = ((h ^ byte) * prime) & mask
    return h.to_bytes(bits // 8, "big")


def _encode(digest: bytes) -> str:
    """Base32 with Flyte's alphabet ``a-z1-6`` and no padding."""
    return base64.b32encode(digest).rstrip(b"=").translate(_TRANSLATE).decode()


def fixed_length_unique_id(
    parts: list[str], max_length: int = MAX_UNIQUE_ID_LENGTH, wide: bool = False
) -> str:
    """flytestdlib's FixedLengthUniqueIDForParts: parts joined by ``-`` (empty leading parts skipped); when
    longer than ``max_length``, ``"f"`` + base32(fnv32a) (``wide``: fnv64a) of the joined string."""
    joined = ""
    for i, p in enumerate(parts):
        if i > 0 and joined:
            joined += "-"
        joined += p
    if len(joined) <= max_length:
        return joined
    data = joined.encode()
    digest = (
        _fnv1a(data, _FNV64_OFFSET, _FNV64_PRIME, 64)
        if wide
        else _fnv1a(data, _FNV32_OFFSET, _FNV32_PRIME, 32)
    )
    return "f" + _encode(digest)


def node_unique_id(parent_unique_id: str | None, parent_attempt: int, node_id: str) -> str:
    """propeller's GenerateUniqueID: top-level nodes keep their id; children of a parent node (sub-workflow,
    branch, dynamic) get ``{parent}-{attempt}-{id}``, hashed to 8 characters when longer than 20."""
    if parent_unique_id is None:
        return node_id
    return fixed_length_unique_id([parent_unique_id, str(parent_attempt), node_id])


def child_execution_name(parent_execution_name: str, node_unique_id: str, attempt: int) -> str:
    """Name of the child execution a launch-plan node creates (propeller's GetChildWorkflowExecutionIDV2)."""
    return fixed_length_unique_id([parent_execution_name, node_unique_id, str(attempt)], wide=True)
