"""Running the sandbox from tests and demos.

* :func:`run_sandbox` / :class:`SandboxThread`: the sandbox on its own event loop in a background thread of this
  process (fast; what the pytest fixtures use);
* :class:`SandboxProcess`: ``python -m airflow_provider_flyte.sandbox`` as a child process (for kill -9 tests and
  for things that need a separate process, like Airflow standalone);
* :func:`make_tls_files`: a throw-away CA and a server certificate for ``127.0.0.1``/``localhost``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import datetime
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Coroutine, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

from airflow_provider_flyte.sandbox.cli import CLIENT_SECRET_ENV, config_to_argv
from airflow_provider_flyte.sandbox.config import SandboxConfig
from airflow_provider_flyte.sandbox.server import AdminFactory, Sandbox

T = TypeVar("T")


class _Started:
    """A context manager that starts the sandbox on entry (unless started already) and stops it on exit."""

    def started(self) -> bool:
        raise NotImplementedError

    def start(self, timeout: float = 60.0) -> Self:
        raise NotImplementedError

    def stop(self) -> Any:
        raise NotImplementedError

    def __enter__(self) -> Self:
        if not self.started():
            self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class SandboxThread(_Started):
    """A :class:`~.server.Sandbox` running on a private event loop in a daemon thread.

    ``start()`` returns once the server answers; ``config`` then holds the bound ports.
    """

    def __init__(self, config: SandboxConfig, *, admin_factory: AdminFactory | None = None) -> None:
        self.sandbox = Sandbox(config, admin_factory=admin_factory)
        self.loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._started: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._stop_requested: asyncio.Event | None = None
        self._grace: float | None = 1.0
        self._done: concurrent.futures.Future[None] = concurrent.futures.Future()

    @property
    def config(self) -> SandboxConfig:
        return self.sandbox.config

    @property
    def endpoint(self) -> str:
        """``host:port`` of the gRPC server."""
        return self.sandbox.endpoint

    @property
    def http_endpoint(self) -> str:
        return self.sandbox.http_endpoint

    @property
    def data_dir(self) -> Path:
        return self.config.data_dir

    def started(self) -> bool:
        return self._thread is not None

    def start(self, timeout: float = 60.0) -> Self:
        """Start the thread and wait until the sandbox serves; re-raises a failure to start."""
        if self._thread is not None:
            raise RuntimeError("this SandboxThread was already started; create a new one")
        self._thread = threading.Thread(target=self._run, name="flyte-sandbox", daemon=True)
        self._thread.start()
        try:
            self._started.result(timeout)
        except concurrent.futures.TimeoutError:
            self.stop()
            raise TimeoutError(f"the Flyte sandbox did not start within {timeout} s") from None
        return self

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self.loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._main())
        except BaseException as exc:
            if not self._started.done():
                self._started.set_exception(exc)
            if not self._done.done():
                self._done.set_exception(exc)
        else:
            if not self._done.done():
                self._done.set_result(None)
        finally:
            with contextlib.suppress(Exception):
                loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _main(self) -> None:
        self._stop_requested = asyncio.Event()
        await self.sandbox.start()
        self._started.set_result(None)
        try:
            await self._stop_requested.wait()
        finally:
            await self.sandbox.stop(self._grace)

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = 60.0) -> T:
        """Run a coroutine on the sandbox's event loop (e.g. to inspect the admin core) and return its result."""
        if self.loop is None or not self._started.done():
            raise RuntimeError("the sandbox is not running")
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self, grace: float | None = 1.0, timeout: float = 60.0) -> None:
        """Stop the sandbox (running RPCs get ``grace`` seconds) and join the thread. Idempotent."""
        thread = self._thread
        if thread is None or not thread.is_alive():
            return
        self._grace = grace
        loop, event = self.loop, self._stop_requested
        if loop is not None and event is not None:
            with contextlib.suppress(RuntimeError):  # loop already closed
                loop.call_soon_threadsafe(event.set)
        thread.join(timeout)
        if thread.is_alive():
            raise TimeoutError(f"the Flyte sandbox did not stop within {timeout} s")


@contextlib.contextmanager
def run_sandbox(
    config: SandboxConfig | None = None,
    *,
    admin_factory: AdminFactory | None = None,
    **overrides: Any,
) -> Iterator[SandboxThread]:
    """Run a sandbox in a background thread for the duration of the ``with`` block.

    Without ``config``: a temporary data directory (removed afterwards) and free ports. ``overrides`` are
    :class:`SandboxConfig` fields replacing those of ``config``, e.g. ``run_sandbox(auth=AuthSettings(...))``.
    """
    temp_dir: str | None = None
    if config is None:
        if "data_dir" not in overrides:
            temp_dir = tempfile.mkdtemp(prefix="flyte-sandbox-")
            overrides["data_dir"] = Path(temp_dir)
        overrides.setdefault("port", 0)
        config = SandboxConfig(**overrides)
    elif overrides:
        config = dataclasses.replace(config, **overrides)
    thread = SandboxThread(config, admin_factory=admin_factory)
    try:
        thread.start()
        yield thread
    finally:
        thread.stop()
        if temp_dir is not None:
            shutil.rmtree(temp_dir, ignore_errors=True)


class SandboxProcess(_Started):
    """``python -m airflow_provider_flyte.sandbox`` as a child process.

    ``start()`` waits until the gRPC port answers (GetVersion, or GetOAuth2Metadata when auth is on).
    The client secret is handed over in the ``FLYTE_SANDBOX_CLIENT_SECRET`` environment variable; the child's
    output goes to ``<data dir>/sandbox-process.log``.
    """

    def __init__(
        self,
        config: SandboxConfig,
        *,
        env: dict[str, str] | None = None,
        python: str = sys.executable,
        ca_cert_file: Path | None = None,
    ) -> None:
        self.requested = config
        #: CA the readiness probe trusts when the sandbox serves TLS (default: the server certificate itself)
        self.ca_cert_file = ca_cert_file
        self.config = config
        self._env = env
        self._python = python
        self.process: subprocess.Popen[bytes] | None = None
        self.http_endpoint = ""
        self.console_url = ""
        self.log_path = config.data_dir / "sandbox-process.log"
        self._ready_file = config.data_dir / "sandbox-process.ready.json"

    @property
    def endpoint(self) -> str:
        """``host:port`` of the gRPC server (the bound port when the config asked for port 0)."""
        return self.config.endpoint

    @property
    def pid(self) -> int:
        if self.process is None:
            raise RuntimeError("the sandbox process is not started")
        return self.process.pid

    def started(self) -> bool:
        return self.process is not None

    def start(self, timeout: float = 60.0) -> Self:
        if self.process is not None and self.process.poll() is None:
            raise RuntimeError("the sandbox process is already running")
        self.requested.data_dir.mkdir(parents=True, exist_ok=True)
        self._ready_file.unlink(missing_ok=True)
        env = dict(os.environ if self._env is None else self._env)
        if self.requested.auth.client_secret:
            env[CLIENT_SECRET_ENV] = self.requested.auth.client_secret
        argv = [
            self._python,
            "-m",
            "airflow_provider_flyte.sandbox",
            *config_to_argv(self.requested),
            "--ready-file",
            str(self._ready_file),
        ]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + timeout
        while not self._ready_file.exists():
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"the sandbox process exited with code {self.process.returncode} before it was ready; "
                    f"its output ({self.log_path}):\n{self._log_tail()}"
                )
            if time.monotonic() > deadline:
                self.kill()
                raise TimeoutError(
                    f"the sandbox process was not ready within {timeout} s:\n{self._log_tail()}"
                )
            time.sleep(0.02)
        ready = json.loads(self._ready_file.read_text())
        self.config = dataclasses.replace(
            self.requested, port=int(ready["port"]), http_port=int(ready["http_port"])
        )
        self.http_endpoint = ready["http_endpoint"]
        self.console_url = ready["console_url"]
        self._probe(max(1.0, deadline - time.monotonic()))
        return self

    def _probe(self, timeout: float) -> None:
        import grpc
        from flyteidl.admin import version_pb2
        from flyteidl.service import admin_pb2_grpc, auth_pb2, auth_pb2_grpc

        if self.config.tls_cert_file is not None:
            creds = grpc.ssl_channel_credentials(
                Path(self.ca_cert_file or self.config.tls_cert_file).read_bytes()
            )
            channel = grpc.secure_channel(self.endpoint, creds)
        else:
            channel = grpc.insecure_channel(self.endpoint)
        with channel:
            if self.config.auth.enabled:
                auth_pb2_grpc.AuthMetadataServiceStub(channel).GetOAuth2Metadata(
                    auth_pb2.OAuth2MetadataRequest(), timeout=timeout, wait_for_ready=True
                )
            else:
                admin_pb2_grpc.AdminServiceStub(channel).GetVersion(
                    version_pb2.GetVersionRequest(), timeout=timeout, wait_for_ready=True
                )

    def _log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no output)"

    def kill(self) -> None:
        """kill -9: no chance to clean up (what a crash or an OOM kill does)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM and wait for a clean exit (SIGKILL after ``timeout``); returns the exit code."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.process.returncode


@dataclasses.dataclass(frozen=True)
class TlsFiles:
    """PEM files of a throw-away CA and of a server certificate it signed (for 127.0.0.1 and localhost)."""

    ca_cert: Path
    cert: Path
    key: Path


def make_tls_files(directory: Path, *, days: int = 2) -> TlsFiles:
    """Create a self-signed CA and a server certificate/key for ``127.0.0.1``, ``::1`` and ``localhost``."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "flyte-sandbox test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                    x509.IPAddress(ipaddress.ip_address("::1")),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    files = TlsFiles(
        ca_cert=directory / "ca.pem", cert=directory / "server.pem", key=directory / "server-key.pem"
    )
    files.ca_cert.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    files.key.chmod(0o600)
    return files
