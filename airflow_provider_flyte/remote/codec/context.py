"""What the codec needs from its surroundings: uploading local files and reading remote bytes."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["CodecContext", "fsspec_read_bytes"]


def fsspec_read_bytes(uri: str, storage_options: Mapping[str, Mapping[str, Any]] | None = None) -> bytes:
    """Read the whole object at ``uri`` through fsspec (the default :attr:`CodecContext.read_bytes`), with the
    options of its protocol from ``storage_options`` (``{"s3": {"endpoint_url": ...}}``)."""
    import fsspec

    protocol = uri.split("://", 1)[0] if "://" in uri else "file"
    options = dict((storage_options or {}).get(protocol, {}))
    with fsspec.open(uri, "rb", **options) as f:
        return bytes(f.read())


@dataclass
class CodecContext:
    """Hooks and policy for conversions that touch storage.

    * ``upload``: local path (file or directory) -> remote URI. The client wires the DataProxy upload here. When
      None, local paths are rejected with a clear error (remote URIs always pass through).
    * ``read_bytes``: URI -> bytes, used for offloaded literals and pickles; None means fsspec.
    * ``allow_pickle``: unpickling data read from a remote store runs arbitrary code, so it is opt-in.
    * ``raw_output_prefix``: where uploads of generated data (pickles) should go, for ``upload`` implementations
      that care; the codec passes it through untouched.
    """

    upload: Callable[[str], str] | None = None
    read_bytes: Callable[[str], bytes] | None = None
    allow_pickle: bool = False
    raw_output_prefix: str | None = None

    def read(self, uri: str) -> bytes:
        """Read ``uri`` with :attr:`read_bytes` (fsspec when unset)."""
        reader = self.read_bytes or fsspec_read_bytes
        return reader(uri)


DEFAULT_CONTEXT = CodecContext()
