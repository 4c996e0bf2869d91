"""Content versions: the same code and specs always give the same version, any change gives a new one."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable


def content_version(spec_fingerprints: Iterable[bytes], code_digest: bytes) -> str:
    """A version string (26 characters of ``[a-z2-7]``) from the serialized specs and the code bundle's digest.

    The specs carry the interfaces, images, resources, defaults and the task commands; the code digest covers the
    shipped source (or pickle). Entities are serialized for this with placeholder version and code location, so
    the version does not depend on itself or on where the bundle is uploaded.
    """
    h = hashlib.blake2b(digest_size=16, person=b"flyte-local-v1")
    h.update(len(code_digest).to_bytes(4, "big") + code_digest)
    for part in spec_fingerprints:
        h.update(len(part).to_bytes(8, "big") + part)
    return base64.b32encode(h.digest()).decode().rstrip("=").lower()
