"""HTML building blocks of the console: escaping, timestamps, phases and Flyte literal values."""

from __future__ import annotations

import datetime
import html
import json
from collections.abc import Callable
from typing import Any

from google.protobuf import json_format

#: turns a blob URI into a download URL (a signed URL of the sandbox), or None when it cannot be served
Linker = Callable[[str], str | None]


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def timestamp(ts: Any) -> str:
    """A protobuf ``Timestamp`` as ``YYYY-MM-DD HH:MM:SS UTC`` ("" when unset)."""
    if ts is None or (ts.seconds == 0 and ts.nanos == 0):
        return ""
    moment = datetime.datetime.fromtimestamp(ts.seconds + ts.nanos / 1e9, tz=datetime.UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def seconds_of(value: Any) -> float:
    """Seconds of a protobuf ``Timestamp`` or ``Duration``."""
    return float(value.seconds) + float(value.nanos) / 1e9


def duration(value: Any) -> str:
    total = seconds_of(value)
    if total <= 0:
        return ""
    if total < 60:
        return f"{total:.2f} s"
    minutes, secs = divmod(int(total), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m {secs:02d}s" if hours else f"{minutes}m {secs:02d}s"


def phase_badge(name: str) -> str:
    return f'<span class="phase phase-{esc(name.lower())}">{esc(name)}</span>'


def link(href: str, text: str, **attrs: str) -> str:
    extra = "".join(f' {k.rstrip("_").replace("_", "-")}="{esc(v)}"' for k, v in attrs.items())
    return f'<a href="{esc(href)}"{extra}>{esc(text)}</a>'


def _file_link(uri: str, label: str, linker: Linker) -> str:
    url = linker(uri)
    if url is None:
        return f"<code>{esc(uri)}</code>"
    return f'{link(url, label, class_="download")} <code class="uri">{esc(uri)}</code>'


def _primitive(p: Any) -> str:
    kind = p.WhichOneof("value")
    if kind == "datetime":
        return esc(timestamp(p.datetime) or "1970-01-01 00:00:00 UTC")
    if kind == "duration":
        return esc(f"{seconds_of(p.duration)} s")
    if kind == "string_value":
        return f"<q>{esc(p.string_value)}</q>"
    if kind == "boolean":
        return "true" if p.boolean else "false"
    if kind is None:
        return "<i>unset</i>"
    return esc(getattr(p, kind))


def _scalar(s: Any, linker: Linker) -> str:
    kind = s.WhichOneof("value")
    if kind == "primitive":
        return _primitive(s.primitive)
    if kind == "blob":
        name = s.blob.uri.rstrip("/").rsplit("/", 1)[-1] or "file"
        dimensionality = "directory" if s.blob.metadata.type.dimensionality == 1 else "file"
        return f"{dimensionality}: {_file_link(s.blob.uri, name, linker)}"
    if kind == "structured_dataset":
        fmt = s.structured_dataset.metadata.structured_dataset_type.format or "dataset"
        return f"{esc(fmt)} dataset: {_file_link(s.structured_dataset.uri, 'download', linker)}"
    if kind == "schema":
        return f"schema: {_file_link(s.schema.uri, 'download', linker)}"
    if kind == "none_type":
        return "None"
    if kind == "generic":
        text = json.dumps(json_format.MessageToDict(s.generic), indent=1, sort_keys=True)
        return f"<pre>{esc(text)}</pre>"
    if kind == "binary":
        return f"<i>{esc(s.binary.tag or 'binary')} value, {len(s.binary.value)} bytes</i>"
    if kind == "union":
        return render_literal(s.union.value, linker)
    if kind == "error":
        return f'<span class="error">error from {esc(s.error.failed_node_id)}: {esc(s.error.message)}</span>'
    return f"<i>{esc(kind or 'empty')}</i>"


def render_literal(lit: Any, linker: Linker) -> str:
    """A Flyte ``Literal`` as HTML: values shown, files and datasets as download links."""
    kind = lit.WhichOneof("value")
    if kind == "scalar":
        return _scalar(lit.scalar, linker)
    if kind == "collection":
        items = "".join(f"<li>{render_literal(x, linker)}</li>" for x in lit.collection.literals)
        return f'<ol start="0" class="literal-list">{items}</ol>' if items else "[]"
    if kind == "map":
        return render_literal_map(lit.map, linker) if lit.map.literals else "{}"
    if kind == "offloaded_metadata":
        return f"offloaded literal: {_file_link(lit.offloaded_metadata.uri, 'download', linker)}"
    return "<i>unset</i>"


def render_literal_map(lm: Any, linker: Linker, empty: str = "none") -> str:
    if not lm.literals:
        return f"<p class='muted'>{esc(empty)}</p>"
    rows = "".join(
        f'<tr data-name="{esc(name)}"><th>{esc(name)}</th><td>{render_literal(lm.literals[name], linker)}</td></tr>'
        for name in sorted(lm.literals)
    )
    return f'<table class="literals">{rows}</table>'
