"""Structural compatibility of the JSON schemas flytekit stores in a STRUCT ``LiteralType.metadata``.

propeller accepts a STRUCT upstream for a STRUCT downstream when both schemas are identical or the upstream one
describes a "bigger" value (child dataclass -> parent dataclass, extra optional fields ...). This module decides
that structurally: every property the downstream schema requires must exist upstream with a compatible schema.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

JSON = Mapping[str, Any]


def schema_accepts(upstream: JSON, downstream: JSON) -> bool:
    """Return True when a value valid for ``upstream`` is valid for ``downstream`` (as far as can be told)."""
    return _compatible(upstream, downstream, upstream, downstream, 0)


def _resolve(schema: Any, root: JSON) -> Any:
    seen = 0
    while isinstance(schema, Mapping) and isinstance(schema.get("$ref"), str) and seen < 32:
        ref: str = schema["$ref"]
        if not ref.startswith("#/"):
            return schema
        node: Any = root
        for part in ref[2:].split("/"):
            if not isinstance(node, Mapping) or part not in node:
                return schema
            node = node[part]
        schema = node
        seen += 1
    return schema


def _types(schema: JSON) -> set[str] | None:
    t = schema.get("type")
    if t is None:
        return None
    if isinstance(t, str):
        return {t}
    if isinstance(t, list):
        return {str(x) for x in t}
    return None


def _variants(schema: JSON) -> list[Any] | None:
    for key in ("anyOf", "oneOf"):
        v = schema.get(key)
        if isinstance(v, list):
            return v
    return None


def _compatible(up: Any, down: Any, up_root: JSON, down_root: JSON, depth: int) -> bool:
    if depth > 64:
        return True
    up = _resolve(up, up_root)
    down = _resolve(down, down_root)
    if not isinstance(up, Mapping) or not isinstance(down, Mapping):
        return bool(up == down)
    if up == down or not down:
        return True
    down_variants = _variants(down)
    up_variants = _variants(up)
    if down_variants is not None:
        candidates = up_variants if up_variants is not None else [up]
        return all(
            any(_compatible(u, d, up_root, down_root, depth + 1) for d in down_variants) for u in candidates
        )
    if up_variants is not None:
        return all(_compatible(u, down, up_root, down_root, depth + 1) for u in up_variants)
    up_types, down_types = _types(up), _types(down)
    if up_types is not None and down_types is not None:
        widened = down_types | ({"integer"} if "number" in down_types else set())
        if not up_types <= widened:
            return False
    if "enum" in down and "enum" in up and not all(v in down["enum"] for v in up["enum"]):
        return False
    down_props = down.get("properties")
    if isinstance(down_props, Mapping):
        up_props = up.get("properties")
        up_props = up_props if isinstance(up_props, Mapping) else {}
        required = down.get("required") or []
        for name, sub in down_props.items():
            if name in up_props:
                if not _compatible(up_props[name], sub, up_root, down_root, depth + 1):
                    return False
            elif name in required:
                return False
    for key in ("items", "additionalProperties"):
        d_sub, u_sub = down.get(key), up.get(key)
        if (
            isinstance(d_sub, Mapping)
            and isinstance(u_sub, Mapping)
            and not _compatible(u_sub, d_sub, up_root, down_root, depth + 1)
        ):
            return False
    return True
