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
    #: port of the HTTP endpoint (signed upload/download URLs, OAuth2 token endpoint); 0 = pick a free port
    http_port: int = 0
    projects: tuple[str, ...] = (DEFAULT_PROJECT,)
    domains: tuple[str, ...] = DEFAULT_DOMAINS
    #: console-style URL base for execution links; default ``http://<host>:<port>/console``
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
        return self.console_base_url or f"http://{self.endpoint}/console"
