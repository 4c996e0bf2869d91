"""Small helpers to look inside Python type hints (Annotated, Optional/Union, list[T], dict[K, V])."""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from typing import Any

NoneType = type(None)


def unwrap(tp: Any) -> Any:
    """Strip ``Annotated[...]`` (repeatedly) and return the underlying hint."""
    while typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    return tp


def union_args(tp: Any) -> tuple[Any, ...] | None:
    """The members of ``Union[...]`` / ``X | Y`` / ``Optional[X]``, else None."""
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        return typing.get_args(tp)
    return None


def optional_arg(tp: Any) -> Any:
    """For ``Optional[X]`` (exactly one non-None member) return X, else None."""
    args = union_args(tp)
    if args is None or NoneType not in args:
        return None
    rest = [a for a in args if a is not NoneType]
    return rest[0] if len(rest) == 1 else None


def list_arg(tp: Any) -> tuple[bool, Any]:
    """``(True, T)`` for ``list[T]`` / ``List[T]``, ``(True, Any)`` for a bare ``list``, else ``(False, None)``."""
    if tp is list or tp is typing.List:  # noqa: UP006
        return True, Any
    if typing.get_origin(tp) is list:
        args = typing.get_args(tp)
        return True, args[0] if args else Any
    return False, None


def dict_args(tp: Any) -> tuple[bool, Any, Any]:
    """``(True, K, V)`` for ``dict[K, V]``, ``(True, None, None)`` for a bare ``dict``, else ``(False, ...)``."""
    if tp is dict or tp is typing.Dict:  # noqa: UP006
        return True, None, None
    if typing.get_origin(tp) is dict:
        args = typing.get_args(tp)
        if len(args) == 2:
            return True, args[0], args[1]
        return True, None, None
    return False, None, None


_FLYTE_VALUE_CLASSES = frozenset({"FlyteFile", "FlyteDirectory", "StructuredDataset"})


def is_flyte_value_class(tp: type) -> bool:
    """flytekit's FlyteFile/FlyteDirectory/StructuredDataset (dataclasses themselves) or ours, by class name."""
    return any(k.__name__ in _FLYTE_VALUE_CLASSES for k in tp.__mro__)


def is_dataclass_type(tp: Any) -> bool:
    """A user dataclass type (flytekit's file/directory/dataset dataclasses excluded)."""
    return isinstance(tp, type) and _is_user_dataclass(tp)


@functools.lru_cache(maxsize=4096)
def _is_user_dataclass(tp: type) -> bool:
    """Cached per class: the codec asks for every element of a list."""
    return dataclasses.is_dataclass(tp) and not is_flyte_value_class(tp)


def is_dataclass_value(v: Any) -> bool:
    """A user dataclass instance (flytekit's file/directory/dataset values excluded)."""
    return is_dataclass_type(type(v))


def type_name(tp: Any) -> str:
    """A readable name for a type hint (for error messages)."""
    if isinstance(tp, type) and typing.get_origin(tp) is None:
        return tp.__name__
    return str(tp).replace("typing.", "")
