"""Helpers shared by the benchmark scripts (which also measure older checkouts put first on ``PYTHONPATH``)."""

from __future__ import annotations

from typing import Any


def epoch_seconds(timestamp: Any) -> float:
    """Seconds since the epoch of a closure timestamp: a ``datetime`` (this client's models) or a protobuf
    ``Timestamp`` (what older checkouts' models returned)."""
    if hasattr(timestamp, "ToNanoseconds"):
        return float(timestamp.ToNanoseconds()) / 1e9
    return float(timestamp.timestamp())
