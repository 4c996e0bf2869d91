"""Python values <-> flyteidl ``Literal`` s, and the type rules flyteadmin/propeller apply to them.

Public API:

* :func:`to_literal`, :func:`to_literal_map`: Python -> ``Literal`` / ``LiteralMap`` (flytekit 1.16's shapes).
* :func:`to_python`, :func:`literal_map_to_python`: the way back.
* :func:`literal_type_for_python_type`: the ``LiteralType`` flytekit declares for a type hint.
* :func:`infer_literal_type`, :func:`is_castable`: propeller's ``LiteralTypeForLiteral`` / ``AreTypesCastable``.
* :func:`describe_type`: short text for a ``LiteralType`` (``"list[int]"``, ``"Optional[str]"`` ...).
* :class:`CodecContext`: upload / read hooks and the pickle opt-in.
* :class:`FlyteFile`, :class:`FlyteDirectory`, :class:`StructuredDataset`: light value types.
"""

from __future__ import annotations

from airflow_provider_flyte.remote.codec.context import CodecContext
from airflow_provider_flyte.remote.codec.decode import literal_map_to_python, to_python
from airflow_provider_flyte.remote.codec.describe import describe_type
from airflow_provider_flyte.remote.codec.encode import as_literal_type, to_literal, to_literal_map
from airflow_provider_flyte.remote.codec.files import FlyteDirectory, FlyteFile, StructuredDataset
from airflow_provider_flyte.remote.codec.inference import infer_literal_type, is_castable
from airflow_provider_flyte.remote.codec.types import literal_type_for_python_type, union_tag

__all__ = [
    "CodecContext",
    "FlyteDirectory",
    "FlyteFile",
    "StructuredDataset",
    "as_literal_type",
    "describe_type",
    "infer_literal_type",
    "is_castable",
    "literal_map_to_python",
    "literal_type_for_python_type",
    "to_literal",
    "to_literal_map",
    "to_python",
    "union_tag",
]
