"""Configuration of the embedded Flyte sandbox."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_PORT = 30080
DEFAULT_PROJECT = "flytesnacks"
DEFAULT_DOMAINS = ("development", "staging", "production")
#: values of ``SandboxConfig.task_workers``
TASK_WORKERS = ("warm", "cold")


@dataclass(frozen=True)
class AuthSettings:
    """Optional OAuth2 client-credentials auth, as a Flyte deployment with auth enabled."""

    enabled: bool = False
    client_id: str = "flyte-sandbox-client"
    client_secret: str = ""
    token_ttl_seconds: int = 3600
    #: metadata key advertised through ``GetPublicClientConfig.authorization_metadata_key``
    authorization_metadata_key: str = "flyte-authorization"
    scopes: tuple[str, ...] = ("all",)


@dataclass(frozen=True)
class FaultSettings:
    """Fault injection for reliability tests: a fraction of RPCs fail with UNAVAILABLE, or are delayed."""

    unavailable_fraction: float = 0.0
    delay_fraction: float = 0.0
    max_delay_seconds: float = 0.0
    seed: int | None = None
    #: RPC method names (e.g. ``"CreateExecution"``) that faults never touch.
    exempt_methods: frozenset[str] = frozenset()


@dataclass(frozen=True)
class SandboxConfig:
    data_dir: Path
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    #: port of the HTTP endpoint (signed upload/download URLs, OAuth2 token endpoint); 0 = the port of the last run
    #: in this data dir (file ``http-port``), else a free one: the token endpoint clients cached survives restarts
    http_port: int = 0
    projects: tuple[str, ...] = (DEFAULT_PROJECT,)
    domains: tuple[str, ...] = DEFAULT_DOMAINS
    #: URL base of execution links; default: the console served by the HTTP endpoint,
    #: ``http(s)://<host>:<http_port>/console`` (the bound HTTP port once the sandbox is started)
    console_base_url: str | None = None
    auth: AuthSettings = field(default_factory=AuthSettings)
    faults: FaultSettings = field(default_factory=FaultSettings)
    #: extra entries prepended to the PYTHONPATH of task subprocesses
    task_pythonpath: tuple[str, ...] = ()
    #: concurrent task subprocesses at most (in-process tasks are not limited)
    max_task_processes: int = 4
    #: TLS: PEM server certificate chain and key; when set, gRPC and HTTP are served over TLS
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    # -- HTTP endpoint limits (issue 10: hostile clients) --
    #: largest request body the HTTP endpoint accepts (uploads through signed URLs), bytes; bodies stream to disk
    http_max_body_bytes: int = 1024 * 1024 * 1024
    #: seconds a connection may stay idle, and the base time a request gets (plus 1 s per 64 KiB transferred)
    http_read_timeout: float = 30.0
    #: concurrent HTTP connections at most; more are refused (503) at once
    http_max_connections: int = 64
    # -- exposure (issue 10) --
    #: serve on a non-loopback ``host`` without auth anyway (otherwise refused: anyone reaching the port could run
    #: the in-process callables the allow-list admits)
    insecure_public: bool = False
    #: module prefixes whose callables in-process tasks may run, besides the builtins
    #: (``airflow_provider_flyte.sandbox.inprocess``) and the modules found in ``task_pythonpath`` directories
    inprocess_modules: tuple[str, ...] = ()
    #: how flytekit tasks start: "warm" (forked from a process that imported flytekit once; Linux) or "cold"
    #: (a new ``pyflyte-execute`` process per attempt, as in a pod)
    task_workers: str = "warm"

    def __post_init__(self) -> None:
        # accept plain strings for the paths (``run_sandbox(data_dir="/tmp/x")``)
        for name in ("data_dir", "tls_cert_file", "tls_key_file"):
            value = getattr(self, name)
            if isinstance(value, str):
                object.__setattr__(self, name, Path(value))
        if self.task_workers not in TASK_WORKERS:
            raise ValueError(f"task_workers must be one of {', '.join(TASK_WORKERS)}, not {self.task_workers!r}")

    @property
    def db_path(self) -> Path:
        return self.data_dir / "sandbox.db"

    @property
    def blob_root(self) -> Path:
        return self.data_dir / "blobs"

    @property
    def endpoint(self) -> str:
        return f"{self.host}:{self.port}"

    def console_url(self) -> str:
        """Base URL of console links: ``console_base_url``, else the sandbox's own console on its HTTP port."""
        if self.console_base_url:
            return self.console_base_url.rstrip("/")
        scheme = "https" if self.tls_cert_file is not None else "http"
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        if ":" in host:
            host = f"[{host}]"
        return f"{scheme}://{host}:{self.http_port}/console"
