"""How conversions fail: one internal signal, turned into a :class:`FlyteTypeError` naming input, type and value."""

from __future__ import annotations

from typing import Any

from airflow_provider_flyte.remote.codec.describe import describe_type
from airflow_provider_flyte.remote.errors import FlyteTypeError

MAX_REPR = 120


def short_repr(value: Any, limit: int = MAX_REPR) -> str:
    """``repr(value)`` cut to ``limit`` characters."""
    try:
        text = repr(value)
    except Exception:
        text = f"<{type(value).__name__} object>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


class Mismatch(Exception):
    """A value does not fit a LiteralType. ``fatal`` ones are not retried with other union variants."""

    def __init__(self, literal_type: Any, value: Any, reason: str = "", *, fatal: bool = False) -> None:
        super().__init__(reason)
        self.literal_type = literal_type
        self.value = value
        self.reason = reason
        self.fatal = fatal
        #: innermost-first path elements ("[3]", "['key']", ".field")
        self.path: list[str] = []

    def at(self, element: str) -> Mismatch:
        self.path.append(element)
        return self


def to_type_error(m: Mismatch, name: str | None, *, action: str = "expected") -> FlyteTypeError:
    """Build the user-facing error for a mismatch under input ``name`` (None: a bare value)."""
    where = "".join(reversed(m.path))
    subject = f"Input '{name}'" if name is not None else "Value"
    if where:
        subject += f" at {where}"
    text = (
        f"{subject}: {action} {describe_type(m.literal_type)}, "
        f"got {short_repr(m.value)} ({type(m.value).__name__})"
    )
    if m.reason:
        text += f": {m.reason}"
    return FlyteTypeError(text)
