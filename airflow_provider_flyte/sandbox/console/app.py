"""The console's request handling: routes ``/console/...`` requests of the HTTP endpoint to pages.

Pages read through the sandbox's own AdminService and SignalService servicers, called in-process on the
sandbox's event loop (the HTTP endpoint runs in its own threads). Gate forms post to
``.../executions/{name}/signals/{signal_id}`` and go through ``SignalService.SetSignal``. When auth is on, every
console request needs the sandbox's client credentials (HTTP Basic) or an access token (Bearer), as the gRPC API
does; form posts from another origin are refused.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

from flyteidl.admin import signal_pb2
from flyteidl.core import identifier_pb2, types_pb2

from airflow_provider_flyte.remote.codec.encode import to_literal
from airflow_provider_flyte.sandbox.auth import TokenStore, check_client_credentials
from airflow_provider_flyte.sandbox.blobstore import BlobStore
from airflow_provider_flyte.sandbox.config import AuthSettings
from airflow_provider_flyte.sandbox.console import pages
from airflow_provider_flyte.sandbox.console.layout import page
from airflow_provider_flyte.sandbox.console.render import esc
from airflow_provider_flyte.sandbox.errors import SandboxError

log = logging.getLogger(__name__)

#: seconds a console request waits for the admin core
CALL_TIMEOUT = 30.0
#: seconds the console's download links stay valid
LINK_TTL = 3600.0
#: bytes of a task log shown inline (its tail)
LOG_TAIL_BYTES = 64 * 1024
_HTTP_STATUS = {"NOT_FOUND": 404, "INVALID_ARGUMENT": 400, "FAILED_PRECONDITION": 409, "ALREADY_EXISTS": 409}


def is_console_path(path: str) -> bool:
    return path == "/console" or path.startswith("/console/")


@dataclass
class Response:
    status: int
    body: bytes
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)


class Console:
    """Serves the console pages from the admin core running on ``loop``."""

    def __init__(
        self,
        admin: Any,
        loop: asyncio.AbstractEventLoop,
        *,
        blobs: BlobStore,
        sign_download: Callable[[str, float], str],
        auth: AuthSettings,
        tokens: TokenStore,
    ) -> None:
        self._admin = admin
        self._loop = loop
        self._blobs = blobs
        self._sign_download = sign_download
        self._auth = auth
        self._tokens = tokens

    # -- Backend (see pages.Backend) ---------------------------------------------------------------------------
    def _call(self, servicer: Any, method: str, request: Any) -> Any:
        future = asyncio.run_coroutine_threadsafe(getattr(servicer, method)(request, None), self._loop)
        return future.result(CALL_TIMEOUT)

    def admin(self, method: str, request: Any) -> Any:
        return self._call(self._admin.admin_servicer, method, request)

    def signal(self, method: str, request: Any) -> Any:
        return self._call(self._admin.signal_servicer, method, request)

    def download_url(self, uri: str) -> str | None:
        try:
            if not self._blobs.path(uri).is_file():
                return None
            return self._sign_download(uri, LINK_TTL)
        except (SandboxError, ValueError, OSError):
            return None

    def log_text(self, uri: str) -> str | None:
        try:
            path = self._blobs.path(uri).resolve()
            path.relative_to(self._blobs.root)
            with path.open("rb") as fh:
                size = fh.seek(0, 2)
                fh.seek(max(0, size - LOG_TAIL_BYTES))
                text = fh.read().decode("utf-8", "replace")
        except (ValueError, OSError):
            return None
        return ("… (log tail)\n" + text) if size > LOG_TAIL_BYTES else text

    # -- requests ------------------------------------------------------------------------------------------------
    def handle(self, method: str, target: str, headers: Any, body: bytes) -> Response:
        """Answer one request (``headers`` offers ``get(name)``)."""
        denied = self._authenticate(headers)
        if denied is not None:
            return denied
        url = urlsplit(target)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        parts = [unquote(p) for p in url.path.split("/")[2:] if p]
        try:
            if method == "POST":
                return self._post(parts, headers, body)
            return self._get(parts, query)
        except SandboxError as exc:
            status = _HTTP_STATUS.get(exc.code.name, 500)
            return Response(status, page("Error", f"<p class='error' id='error'>{esc(exc.message)}</p>"))
        except TimeoutError:
            return Response(
                503, page("Busy", "<p class='error'>the sandbox did not answer in time; reload</p>")
            )
        except Exception as exc:
            log.exception("console request %s %s failed", method, target)
            return Response(500, page("Error", f"<p class='error'>{esc(type(exc).__name__)}: {esc(exc)}</p>"))

    def _get(self, parts: list[str], query: dict[str, str]) -> Response:
        match parts:
            case []:
                return Response(200, pages.home(self))
            case ["projects", project] | ["projects", project, "executions"]:
                domain = query.pop("domain", "development")
                return _redirect(f"{pages.base(project, domain)}/executions", query)
            case ["projects", project, "domains", domain, "executions"]:
                return Response(200, pages.executions(self, project, domain, query))
            case ["projects", project, "domains", domain, "executions", name]:
                return Response(200, pages.execution(self, project, domain, name, query.get("notice", "")))
            case ["projects", project, ("launchPlans" | "tasks" | "workflows") as plural]:
                kind = {"launchPlans": "launch_plan", "tasks": "task", "workflows": "workflow"}[plural]
                return _redirect(f"{pages.base(project, query.get('domain', 'development'))}/{kind}", {})
            case ["projects", project, "domains", domain, kind] if kind in pages.ENTITY_KINDS:
                return Response(200, pages.entities(self, project, domain, kind, query.get("token", "")))
            case ["projects", project, "domains", domain, kind, name] if kind in pages.ENTITY_KINDS:
                return Response(200, pages.entity(self, project, domain, kind, name))
            case ["projects", project, "domains", domain, kind, name, "version", version] if (
                kind in pages.ENTITY_KINDS
            ):
                return Response(200, pages.entity(self, project, domain, kind, name, version))
        return Response(404, page("Not found", "<p class='error'>no such console page</p>"))

    def _post(self, parts: list[str], headers: Any, body: bytes) -> Response:
        match parts:
            case ["projects", project, "domains", domain, "executions", name, "signals", signal_id]:
                pass
            case _:
                return Response(404, page("Not found", "<p class='error'>no such console form</p>"))
        origin = headers.get("Origin")
        host = headers.get("Host", "")
        if origin and origin != "null" and urlsplit(origin).netloc != host:
            return Response(403, page("Refused", "<p class='error'>cross-origin form posts are refused</p>"))
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()}
        eid = identifier_pb2.WorkflowExecutionIdentifier(project=project, domain=domain, name=name)
        notice = self._set_signal(eid, signal_id, form.get("action", ""), form.get("value", ""))
        return _redirect(pages.execution_path(eid), {"notice": notice})

    def _set_signal(self, eid: Any, signal_id: str, action: str, text: str) -> str:
        """Set a gate's signal through SignalService; the notice shown on the execution page."""
        signals = self.signal(
            "ListSignals", signal_pb2.SignalListRequest(workflow_execution_id=eid, limit=100)
        )
        signal = next((s for s in signals.signals if s.id.signal_id == signal_id), None)
        if signal is None:
            return f"no signal {signal_id!r} is waiting in this execution"
        value: Any
        if action in ("approve", "reject"):
            value = action == "approve"
        else:
            try:
                value = json.loads(text)
            except ValueError:
                value = text
            if signal.type.simple == types_pb2.STRING and not isinstance(
                value, str
            ):  # keep the text as typed
                value = text
        try:
            literal = to_literal(value, signal.type)
        except (TypeError, ValueError) as exc:
            return f"cannot use {text!r} for {signal_id}: {exc}"
        try:
            self.signal("SetSignal", signal_pb2.SignalSetRequest(id=signal.id, value=literal))
        except SandboxError as exc:
            return f"SetSignal for {signal_id} failed: {exc.message}"
        verb = {"approve": "approved", "reject": "rejected"}.get(action, f"set to {value!r}")
        return f"{signal_id} {verb}"

    def _authenticate(self, headers: Any) -> Response | None:
        if not self._auth.enabled:
            return None
        authorization = headers.get("Authorization") or ""
        scheme, _, credentials = authorization.partition(" ")
        if scheme.lower() == "bearer" and self._tokens.principal(credentials.strip()) is not None:
            return None
        if scheme.lower() == "basic":
            try:
                client_id, _, secret = (
                    base64.b64decode(credentials.strip(), validate=True).decode().partition(":")
                )
            except (binascii.Error, UnicodeDecodeError):
                client_id = secret = ""
            if check_client_credentials(self._auth, client_id, secret):
                return None
        return Response(
            401,
            page("Sign in", "<p>auth is on: sign in with the sandbox's client id and secret</p>"),
            headers={"WWW-Authenticate": 'Basic realm="flyte-sandbox console"'},
        )


def _redirect(path: str, query: dict[str, str]) -> Response:
    location = path + ("?" + urlencode(query, quote_via=quote) if query else "")
    return Response(303, b"", "text/plain", {"Location": location})
