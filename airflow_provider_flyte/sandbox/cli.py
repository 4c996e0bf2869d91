"""``flyte-sandbox`` / ``python -m airflow_provider_flyte.sandbox``: run the embedded Flyte sandbox until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from airflow_provider_flyte.sandbox.config import (
    DEFAULT_DOMAINS,
    DEFAULT_PORT,
    DEFAULT_PROJECT,
    TASK_WORKERS,
    AuthSettings,
    FaultSettings,
    SandboxConfig,
)

#: environment variable holding the OAuth2 client secret (preferred over --auth-client-secret: not visible in ps)
CLIENT_SECRET_ENV = "FLYTE_SANDBOX_CLIENT_SECRET"
DEFAULT_DATA_DIR = Path("~/.flyte-sandbox")

log = logging.getLogger("airflow_provider_flyte.sandbox")


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``flyte-sandbox``."""
    p = argparse.ArgumentParser(
        prog="flyte-sandbox",
        description="Run an embedded, Docker-free Flyte Admin (gRPC) that executes workflows on this machine.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: %(default)s)")
    p.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help="gRPC port; 0 picks a free one (default: %(default)s)"
    )
    p.add_argument(
        "--http-port",
        type=int,
        default=0,
        help="port of the HTTP endpoint (signed upload URLs, OAuth2 token endpoint); 0 (default) reuses the port of "
        "the last run in --data-dir, else picks a free one",
    )
    p.add_argument(
        "--data-dir",
        type=Path,
        default=DEFAULT_DATA_DIR,
        help="where the database and the blobs are kept across restarts (default: %(default)s)",
    )
    p.add_argument(
        "--project",
        action="append",
        dest="projects",
        metavar="NAME",
        help=f"project to create at start (repeatable; default: {DEFAULT_PROJECT})",
    )
    p.add_argument(
        "--domain",
        action="append",
        dest="domains",
        metavar="NAME",
        help=f"domain (repeatable; default: {', '.join(DEFAULT_DOMAINS)})",
    )
    p.add_argument(
        "--console-base-url",
        help="base URL of execution links (default: the console, http://<host>:<http-port>/console)",
    )
    p.add_argument(
        "--pythonpath",
        action="append",
        default=[],
        metavar="PATH",
        help=f"entry prepended to task processes' PYTHONPATH (repeatable, or '{os.pathsep}'-separated)",
    )
    p.add_argument(
        "--max-task-processes",
        type=int,
        default=4,
        help="concurrent task subprocesses (default: %(default)s)",
    )

    auth = p.add_argument_group("auth (OAuth2 client credentials; on when a client secret is given)")
    auth.add_argument(
        "--auth-client-id", default=AuthSettings.client_id, help="client id (default: %(default)s)"
    )
    auth.add_argument(
        "--auth-client-secret", help=f"client secret; prefer the {CLIENT_SECRET_ENV} environment variable"
    )
    auth.add_argument(
        "--auth-token-ttl",
        type=int,
        default=AuthSettings.token_ttl_seconds,
        help="access token lifetime in seconds (default: %(default)s)",
    )

    tls = p.add_argument_group("TLS (gRPC and HTTP)")
    tls.add_argument("--tls-cert", type=Path, help="PEM server certificate chain")
    tls.add_argument("--tls-key", type=Path, help="PEM private key")

    faults = p.add_argument_group("fault injection")
    faults.add_argument(
        "--fail-fraction",
        type=float,
        default=0.0,
        help="fraction of RPCs rejected with UNAVAILABLE before they run",
    )
    faults.add_argument(
        "--delay-fraction",
        type=float,
        default=None,
        help="fraction of RPCs delayed (default: 1 when --max-delay is set)",
    )
    faults.add_argument(
        "--max-delay", "--delay", type=float, default=0.0, metavar="SECONDS", help="longest injected delay"
    )
    faults.add_argument("--fault-seed", type=int, help="random seed, for reproducible faults")
    faults.add_argument(
        "--fault-exempt",
        action="append",
        default=[],
        metavar="METHOD",
        help="RPC method never faulted, e.g. CreateExecution (repeatable)",
    )

    p.add_argument("--ready-file", type=Path, help="write a JSON description (ports, URLs) here once serving")
    p.add_argument("--log-level", default="INFO", help="logging level (default: %(default)s)")

    limits = p.add_argument_group("HTTP endpoint limits")
    limits.add_argument(
        "--http-max-body",
        type=_size,
        default=SandboxConfig.http_max_body_bytes,
        metavar="SIZE",
        help="largest upload body, bytes or with a K/M/G suffix (default: 1G)",
    )
    limits.add_argument(
        "--http-read-timeout",
        type=float,
        default=SandboxConfig.http_read_timeout,
        metavar="SECONDS",
        help="idle limit of a connection, and the base time of a request (+1 s per 64 KiB) (default: %(default)s)",
    )
    limits.add_argument(
        "--http-max-connections",
        type=int,
        default=SandboxConfig.http_max_connections,
        help="concurrent HTTP connections at most; more get 503 (default: %(default)s)",
    )

    exposure = p.add_argument_group("exposure")
    exposure.add_argument(
        "--insecure-public",
        action="store_true",
        help="serve on a non-loopback --host without auth (refused otherwise): anyone reaching it can run workflows",
    )
    exposure.add_argument(
        "--inprocess-module",
        action="append",
        default=[],
        dest="inprocess_modules",
        metavar="PREFIX",
        help="module prefix whose callables in-process tasks may run, besides the builtins and the modules on "
        "--pythonpath (repeatable)",
    )
    p.add_argument(
        "--task-workers",
        choices=TASK_WORKERS,
        default="warm",
        help="flytekit tasks: 'warm' forks each attempt from a process that imported flytekit once (Linux), "
        "'cold' starts a new pyflyte-execute process per attempt (default: %(default)s)",
    )
    return p


def _size(text: str) -> int:
    """Bytes from ``"1048576"``, ``"512K"``, ``"100M"`` or ``"1G"`` (binary units)."""
    units = {"K": 1024, "M": 1024**2, "G": 1024**3}
    raw = text.strip().upper().removesuffix("B").removesuffix("I")
    factor = units.get(raw[-1:], 1)
    try:
        value = int(float(raw[:-1] if raw[-1:] in units else raw) * factor)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size; use bytes or a K/M/G suffix, e.g. 512M") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"a size must be >= 0, got {text!r}")
    return value


def config_from_args(args: argparse.Namespace, environ: dict[str, str] | None = None) -> SandboxConfig:
    """The :class:`SandboxConfig` described by parsed command-line arguments (and the environment)."""
    env = os.environ if environ is None else environ
    secret = args.auth_client_secret or env.get(CLIENT_SECRET_ENV, "")
    pythonpath = tuple(part for entry in args.pythonpath for part in entry.split(os.pathsep) if part)
    delay_fraction = (
        args.delay_fraction if args.delay_fraction is not None else (1.0 if args.max_delay > 0 else 0.0)
    )
    return SandboxConfig(
        data_dir=args.data_dir.expanduser().resolve(),
        host=args.host,
        port=args.port,
        http_port=args.http_port,
        projects=tuple(args.projects) if args.projects else (DEFAULT_PROJECT,),
        domains=tuple(args.domains) if args.domains else DEFAULT_DOMAINS,
        console_base_url=args.console_base_url,
        auth=AuthSettings(
            enabled=bool(secret),
            client_id=args.auth_client_id,
            client_secret=secret,
            token_ttl_seconds=args.auth_token_ttl,
        ),
        faults=FaultSettings(
            unavailable_fraction=args.fail_fraction,
            delay_fraction=delay_fraction,
            max_delay_seconds=args.max_delay,
            seed=args.fault_seed,
            exempt_methods=frozenset(args.fault_exempt),
        ),
        task_pythonpath=tuple(str(Path(p).expanduser().resolve()) for p in pythonpath),
        max_task_processes=args.max_task_processes,
        tls_cert_file=args.tls_cert.expanduser().resolve() if args.tls_cert else None,
        tls_key_file=args.tls_key.expanduser().resolve() if args.tls_key else None,
        http_max_body_bytes=args.http_max_body,
        http_read_timeout=args.http_read_timeout,
        http_max_connections=args.http_max_connections,
        insecure_public=args.insecure_public,
        inprocess_modules=tuple(args.inprocess_modules),
        task_workers=args.task_workers,
    )


def config_to_argv(config: SandboxConfig) -> list[str]:
    """Command-line arguments reproducing ``config`` (the client secret is NOT included: pass it in the
    ``FLYTE_SANDBOX_CLIENT_SECRET`` environment variable)."""
    argv = [
        "--host",
        config.host,
        "--port",
        str(config.port),
        "--http-port",
        str(config.http_port),
        "--data-dir",
        str(config.data_dir),
        "--max-task-processes",
        str(config.max_task_processes),
    ]
    for project in config.projects:
        argv += ["--project", project]
    for domain in config.domains:
        argv += ["--domain", domain]
    if config.console_base_url:
        argv += ["--console-base-url", config.console_base_url]
    for entry in config.task_pythonpath:
        argv += ["--pythonpath", entry]
    if config.auth.enabled:
        argv += [
            "--auth-client-id",
            config.auth.client_id,
            "--auth-token-ttl",
            str(config.auth.token_ttl_seconds),
        ]
    if config.tls_cert_file is not None and config.tls_key_file is not None:
        argv += ["--tls-cert", str(config.tls_cert_file), "--tls-key", str(config.tls_key_file)]
    faults = config.faults
    if faults.unavailable_fraction:
        argv += ["--fail-fraction", repr(faults.unavailable_fraction)]
    if faults.max_delay_seconds:
        argv += [
            "--max-delay",
            repr(faults.max_delay_seconds),
            "--delay-fraction",
            repr(faults.delay_fraction),
        ]
    if faults.seed is not None:
        argv += ["--fault-seed", str(faults.seed)]
    for method in sorted(faults.exempt_methods):
        argv += ["--fault-exempt", method]
    argv += [
        "--http-max-body",
        str(config.http_max_body_bytes),
        "--http-read-timeout",
        repr(config.http_read_timeout),
        "--http-max-connections",
        str(config.http_max_connections),
    ]
    if config.insecure_public:
        argv.append("--insecure-public")
    for prefix in config.inprocess_modules:
        argv += ["--inprocess-module", prefix]
    argv += ["--task-workers", config.task_workers]
    return argv


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.replace(tmp, path)


def _banner(config: SandboxConfig, http_endpoint: str) -> str:
    tls = config.tls_cert_file is not None
    auth = (
        f"OAuth2 client credentials, client id {config.auth.client_id!r}, token endpoint {http_endpoint}/oauth2/token"
        if config.auth.enabled
        else "off"
    )
    hint = f"FLYTE_PLATFORM_URL={config.endpoint} FLYTE_PLATFORM_INSECURE={'false' if tls else 'true'}"
    return "\n".join(
        [
            "Flyte sandbox is ready",
            f"  gRPC endpoint: {config.endpoint} ({'TLS' if tls else 'insecure'})",
            f"  HTTP endpoint: {http_endpoint}",
            f"  console:       {config.console_url()}",
            f"  data dir:      {config.data_dir}",
            f"  projects:      {', '.join(config.projects)}",
            f"  auth:          {auth}",
            f"  flytekit:      {hint}",
        ]
    )


async def serve(config: SandboxConfig, ready_file: Path | None = None) -> None:
    """Run the sandbox until SIGTERM or SIGINT, then stop it cleanly."""
    from airflow_provider_flyte.sandbox.server import Sandbox

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    sandbox = Sandbox(config)
    await sandbox.start()
    try:
        print(_banner(sandbox.config, sandbox.http_endpoint), flush=True)
        if ready_file is not None:
            ready = {
                "pid": os.getpid(),
                "endpoint": sandbox.endpoint,
                "port": sandbox.config.port,
                "http_port": sandbox.config.http_port,
                "http_endpoint": sandbox.http_endpoint,
                "console_url": sandbox.config.console_url(),
                "tls": sandbox.tls,
            }
            _write_atomically(ready_file, json.dumps(ready))
        await stop.wait()
        log.info("stopping the Flyte sandbox")
    finally:
        await sandbox.stop(grace=2.0)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``flyte-sandbox``; returns the exit code."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        config = config_from_args(args)
        asyncio.run(serve(config, args.ready_file))
    except (OSError, ValueError) as exc:
        print(f"flyte-sandbox: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0
