"""DataProxyService (flyteadmin's ``dataproxy/service.go``) and the signed URLs of the sandbox's HTTP endpoint.

Signed URLs point at the sandbox's HTTP endpoint: ``{http base}/blobs/{path below the blob root}?expires=...
&md5=...&signature=...``, where the signature is an HMAC-SHA256 (per-sandbox secret) over the method, the path,
the expiry and the Content-MD5 the URL was issued for. The HTTP endpoint (:mod:`.http`) verifies them.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Protocol
from urllib.parse import parse_qs, quote, unquote, urlencode

import grpc
from flyteidl.admin import node_execution_pb2
from flyteidl.core import identifier_pb2
from flyteidl.service import dataproxy_pb2
from google.protobuf import duration_pb2, timestamp_pb2

from airflow_provider_flyte.sandbox.blobstore import BlobStore
from airflow_provider_flyte.sandbox.errors import SandboxError, already_exists, invalid, not_found

#: flyteadmin's Upload.MaxExpiresIn / Download.MaxExpiresIn defaults
MAX_EXPIRES_IN_SECONDS = 3600.0
#: flyteadmin's Upload.DefaultFileNameLength and k8s rand.String's alphabet
DEFAULT_FILENAME_LENGTH = 20
_RAND_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
BLOB_PATH_PREFIX = "/blobs/"


class SignedUrlError(Exception):
    """A signed-URL request the HTTP endpoint refuses: HTTP status and a message naming the problem."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class VerifiedRequest:
    """What a valid signed URL grants: one method on one blob, optionally only for content with this MD5."""

    uri: str
    content_md5: str  # base64, "" when the URL was signed without one


def md5_base64(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


class UrlSigner:
    """Signs and verifies the sandbox's pre-signed URLs (the role S3/GCS signing plays in flyteadmin)."""

    def __init__(self, secret: bytes, blobs: BlobStore, base_url: str = "") -> None:
        self._secret = secret
        self._blobs = blobs
        #: base URL of the HTTP endpoint, set once it is bound
        self.base_url = base_url

    def relative_path(self, native_url: str) -> str:
        """The blob's path below the blob-store root; INVALID_ARGUMENT for anything outside of it."""
        try:
            path = BlobStore.path(native_url)
        except ValueError as exc:
            raise invalid(f"failed to parse native_url [{native_url}]: {exc}") from None
        try:
            rel = Path(path).resolve().relative_to(self._blobs.root)
        except ValueError:
            raise invalid(
                f"native_url [{native_url}] is outside of the sandbox's blob store ({self._blobs.uri()})"
            ) from None
        return rel.as_posix()

    def _signature(self, method: str, rel: str, expires: str, md5: str) -> str:
        payload = f"{method}\n{rel}\n{expires}\n{md5}".encode()
        return hmac.new(self._secret, payload, hashlib.sha256).hexdigest()

    def sign(self, method: str, native_url: str, expires_in: float, content_md5: str = "") -> str:
        """A URL allowing ``method`` (``PUT``/``GET``) on ``native_url`` for ``expires_in`` seconds."""
        rel = self.relative_path(native_url)
        expires = f"{time.time() + expires_in:.3f}"
        query = {
            "expires": expires,
            "md5": content_md5,
            "signature": self._signature(method, rel, expires, content_md5),
        }
        return f"{self.base_url}{BLOB_PATH_PREFIX}{quote(rel)}?{urlencode(query)}"

    def verify(self, method: str, url_path: str, query: str) -> VerifiedRequest:
        """Check a request's signature and expiry; raises :class:`SignedUrlError` (403) when they do not hold."""
        if not url_path.startswith(BLOB_PATH_PREFIX):
            raise SignedUrlError(404, f"no such resource: {url_path}")
        rel = unquote(url_path[len(BLOB_PATH_PREFIX) :])
        params = {k: v[0] for k, v in parse_qs(query, keep_blank_values=True).items()}
        expires, md5, signature = params.get("expires"), params.get("md5", ""), params.get("signature")
        if not expires or not signature:
            raise SignedUrlError(
                403, "not a signed URL: the expires and signature query parameters are missing"
            )
        expected = self._signature(method, rel, expires, md5)
        if not hmac.compare_digest(expected, signature):
            raise SignedUrlError(
                403,
                f"signature does not match: this URL was not issued by this sandbox for {method}, or was altered",
            )
        try:
            expired = float(expires) < time.time()
        except ValueError:
            raise SignedUrlError(403, f"invalid expires parameter {expires!r}") from None
        if expired:
            raise SignedUrlError(403, "the signed URL has expired: request a new one (CreateUploadLocation)")
        if any(part in ("", ".", "..") for part in PurePosixPath(rel).parts) or rel.startswith("/"):
            raise SignedUrlError(403, f"invalid blob path {rel!r}")
        return VerifiedRequest(uri=self._blobs.uri(rel), content_md5=md5)


class _DataSource(Protocol):
    admin_servicer: Any

    async def get_data(self, flyte_url: str) -> Any: ...


def _file_md5(path: Path) -> bytes:
    digest = hashlib.md5()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.digest()


def _expires_in(value: duration_pb2.Duration | None, *, allow_negative: bool) -> float:
    if value is None:
        return MAX_EXPIRES_IN_SECONDS
    seconds = value.seconds + value.nanos / 1e9
    if (value.seconds > 0 and value.nanos < 0) or (value.seconds < 0 and value.nanos > 0):
        raise invalid(f"expiresIn [{value}] is invalid")
    if seconds < 0 and not allow_negative:
        raise invalid(f"expiresIn is invalid. Error: input duration [{seconds}s] should not less than 0")
    if seconds > MAX_EXPIRES_IN_SECONDS:
        raise invalid(f"expiresIn [{seconds:g}s] cannot exceed max allowed expiration [1h0m0s]")
    return seconds


def _timestamp_in(seconds: float) -> timestamp_pb2.Timestamp:
    ts = timestamp_pb2.Timestamp()
    ts.FromNanoseconds(int((time.time() + seconds) * 1e9))
    return ts


def _check_path_part(name: str, value: str) -> None:
    if (
        value in (".", "..")
        or "\x00" in value
        or any(p == ".." for p in value.split("/"))
        or value.startswith("/")
    ):
        raise invalid(f"{name} [{value}] is not a valid path component")


class DataProxyServicer:
    """DataProxyService with flyteadmin's validation and error codes, on the sandbox's blob store."""

    def __init__(self, blobs: BlobStore, signer: UrlSigner, admin: _DataSource) -> None:
        self._blobs = blobs
        self._signer = signer
        self._admin = admin

    async def CreateUploadLocation(
        self, request: dataproxy_pb2.CreateUploadLocationRequest, context: Any
    ) -> dataproxy_pb2.CreateUploadLocationResponse:
        if not request.project or not request.domain:
            raise invalid("project and domain are required parameters")
        if not request.filename_root and not request.content_md5:
            raise invalid("content_md5 or filename_root is a required parameter")
        for name in ("project", "domain", "filename_root", "filename"):
            _check_path_part(name, getattr(request, name))
        if request.filename and request.filename_root:
            known = self._blobs.uri(request.project, request.domain, request.filename_root, request.filename)
            path = BlobStore.path(known)
            if path.exists() and (
                not request.content_md5 or await asyncio.to_thread(_file_md5, path) != request.content_md5
            ):
                raise already_exists(
                    f"file already exists at location [{known}], specify a matching hash if you wish to rewrite"
                )
        expires_in = _expires_in(
            request.expires_in if request.HasField("expires_in") else None, allow_negative=True
        )
        filename = request.filename or "".join(
            secrets.choice(_RAND_ALPHABET) for _ in range(DEFAULT_FILENAME_LENGTH)
        )
        md5 = base64.b64encode(request.content_md5).decode() if request.content_md5 else ""
        prefix = request.filename_root or base64.b32encode(request.content_md5).decode()
        native_url = self._blobs.uri(request.project, request.domain, prefix, filename)
        response = dataproxy_pb2.CreateUploadLocationResponse(
            signed_url=self._signer.sign("PUT", native_url, expires_in, md5),
            native_url=native_url,
            expires_at=_timestamp_in(expires_in),
        )
        if md5:
            response.headers["Content-MD5"] = md5
        return response

    async def CreateDownloadLocation(
        self, request: dataproxy_pb2.CreateDownloadLocationRequest, context: Any
    ) -> dataproxy_pb2.CreateDownloadLocationResponse:
        expires_in = _expires_in(
            request.expires_in if request.HasField("expires_in") else None, allow_negative=False
        )
        return dataproxy_pb2.CreateDownloadLocationResponse(
            signed_url=self._signer.sign("GET", request.native_url, expires_in),
            expires_at=_timestamp_in(expires_in),
        )

    async def CreateDownloadLink(
        self, request: dataproxy_pb2.CreateDownloadLinkRequest, context: Any
    ) -> dataproxy_pb2.CreateDownloadLinkResponse:
        try:
            expires_in = _expires_in(
                request.expires_in if request.HasField("expires_in") else None, allow_negative=False
            )
        except SandboxError as exc:
            raise invalid(f"error while validating request. Error: {exc.message}") from None
        if request.artifact_type == dataproxy_pb2.ARTIFACT_TYPE_UNDEFINED:
            raise invalid(
                "error while validating request. Error: invalid artifact type [ARTIFACT_TYPE_UNDEFINED]"
            )
        if not request.HasField("node_execution_id"):
            raise invalid("error while validating request. Error: source is required. Provided nil")
        try:
            node = await self._admin.admin_servicer.GetNodeExecution(
                node_execution_pb2.NodeExecutionGetRequest(id=request.node_execution_id), context
            )
        except SandboxError as exc:
            raise invalid(
                f"failed to find node execution [{_node_label(request.node_execution_id)}]. Error: {exc.message}"
            ) from None
        deck_uri = node.closure.deck_uri
        if not deck_uri:
            raise SandboxError(
                grpc.StatusCode.INTERNAL,
                f"no deckUrl found for request [node execution {_node_label(request.node_execution_id)}]",
            )
        if not self._blobs.exists(deck_uri):
            raise not_found(
                f"URL [{deck_uri}] does not exist yet. Please try again later. If you are using the real-time deck, "
                "this could be because the 'persist' function has not been called yet."
            )
        url = self._signer.sign("GET", deck_uri, expires_in)
        expires_at = _timestamp_in(expires_in)
        return dataproxy_pb2.CreateDownloadLinkResponse(
            signed_url=[url],
            expires_at=expires_at,
            pre_signed_urls=dataproxy_pb2.PreSignedURLs(signed_url=[url], expires_at=expires_at),
        )

    async def GetData(
        self, request: dataproxy_pb2.GetDataRequest, context: Any
    ) -> dataproxy_pb2.GetDataResponse:
        url = request.flyte_url
        if not url:
            raise invalid(
                "failed to validate resolve artifact request. Error: source is required. Provided empty string"
            )
        if not url.startswith("flyte://"):
            raise invalid(
                "failed to validate resolve artifact request. Error: request does not start with the correct prefix"
            )
        deck_node = _deck_node(url)
        if deck_node is not None:
            link = await self.CreateDownloadLink(
                dataproxy_pb2.CreateDownloadLinkRequest(
                    artifact_type=dataproxy_pb2.ARTIFACT_TYPE_DECK, node_execution_id=deck_node
                ),
                context,
            )
            return dataproxy_pb2.GetDataResponse(pre_signed_urls=link.pre_signed_urls)
        response: dataproxy_pb2.GetDataResponse = await self._admin.get_data(url)
        return response


def _node_label(node_id: identifier_pb2.NodeExecutionIdentifier) -> str:
    e = node_id.execution_id
    return f"{e.project}/{e.domain}/{e.name}/{node_id.node_id}"


def _deck_node(flyte_url: str) -> identifier_pb2.NodeExecutionIdentifier | None:
    """The node execution of a deck Flyte URL (``flyte://v1/{p}/{d}/{exec}/{node}[/{attempt}]/d``), else None."""
    parts = flyte_url[len("flyte://") :].split("/")
    if len(parts) not in (6, 7) or parts[0] != "v1" or parts[-1] != "d":
        return None
    return identifier_pb2.NodeExecutionIdentifier(
        node_id=parts[4],
        execution_id=identifier_pb2.WorkflowExecutionIdentifier(
            project=parts[1], domain=parts[2], name=parts[3]
        ),
    )
