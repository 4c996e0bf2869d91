"""Execution outputs as JSON-safe values (what Airflow stores in XCom).

Files, directories and structured datasets become their URIs; datetimes ISO-8601 strings; durations seconds;
enums their values; dataclasses and pydantic models dicts; bytes base64 text. Anything else that JSON cannot
hold is reported with the output name and its type rather than silently stringified.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import enum
import math
from collections.abc import Mapping
from typing import Any


class OutputConversionError(TypeError):
    """An output value has no JSON form."""


def to_jsonable(value: Any, where: str = "output") -> Any:
    """Convert a decoded Flyte value to plain JSON types."""
    from airflow_provider_flyte.remote.codec.files import as_dataset_value, as_file_value

    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return str(value)  # nan/inf: JSON has no literal for them
    if isinstance(value, enum.Enum):
        return to_jsonable(value.value, where)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode()
    file_value = as_file_value(value)
    if file_value is not None:
        return file_value[0]
    dataset = as_dataset_value(value)
    if dataset is not None:
        return dataset[0]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name), f"{where}.{f.name}") for f in dataclasses.fields(value)}
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return to_jsonable(dump(mode="json"), where)
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v, f"{where}[{k!r}]") for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v, f"{where}[{i}]") for i, v in enumerate(value)]
    raise OutputConversionError(
        f"{where} is a {type(value).__module__}.{type(value).__qualname__}, which has no JSON form for XCom; "
        "return a file, a dataclass or plain values from the Flyte workflow instead"
    )


def outputs_to_jsonable(outputs: Any) -> dict[str, Any]:
    """All outputs of an execution (a ``LiteralsResolver``-like object or a mapping) as JSON-safe values."""
    if outputs is None:
        return {}
    names = list(outputs.keys()) if hasattr(outputs, "keys") else list(outputs)
    return {name: to_jsonable(outputs[name], f"output {name!r}") for name in names}
