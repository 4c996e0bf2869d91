"""Runs flytekit python tasks as local subprocesses, as a Flyte pod would run their container.

The task's container ``command + args`` (``pyflyte-execute ...`` / ``pyflyte-fast-execute ...``) is run with the
console scripts of the sandbox's own Python (the bin directory of ``sys.executable``) after replacing the
templates ``{{.input}}``, ``{{.outputPrefix}}``, ``{{.rawOutputDataPrefix}}``, ``{{.checkpointOutputPrefix}}``
and ``{{.prevCheckpointPrefix}}`` with ``flytesandbox://`` URIs in the blob store (see ``blobfs``). The environment is a Flyte pod's
(``FLYTE_INTERNAL_*``, ``FLYTE_ATTEMPT_NUMBER``, container env, execution envs) and ``PYTHONPATH`` starts with
``config.task_pythonpath``. The sandbox never imports flytekit: it reads ``outputs.pb`` / ``error.pb`` /
``futures.pb`` written by the entrypoint. At most ``config.max_task_processes`` subprocesses run at once. On
Linux a task process is killed when the sandbox process dies, however it dies.

Each attempt gets its own working directory under ``<data dir>/work``, removed afterwards: it is the process's
working directory, ``HOME`` and ``TMPDIR`` (flytekit's scratch directories) are below it, and a
``pyflyte-fast-execute --dest-dir`` is rewritten to it, so fast-registered code is unpacked there and nothing is
written outside the data dir. With ``config.task_workers == "warm"`` (the default, Linux) the process is forked from
a warm worker that imported flytekit once (:mod:`~airflow_provider_flyte.sandbox.engine.warm_workers`) instead of
started cold.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from flyteidl.core import errors_pb2, execution_pb2, literals_pb2

from airflow_provider_flyte.sandbox import blobfs
from airflow_provider_flyte.sandbox.engine.runners import (
    SYSTEM,
    USER,
    OnRunning,
    TaskRequest,
    TaskResult,
    execution_error,
)
from airflow_provider_flyte.sandbox.engine.warm_workers import (
    WarmWorkerLost,
    WarmWorkers,
    WarmWorkerUnavailable,
    import_time_env_matches,
    same_python,
)

if TYPE_CHECKING:
    from airflow_provider_flyte.sandbox.blobstore import BlobStore
    from airflow_provider_flyte.sandbox.config import SandboxConfig

_LOG_TAIL = 4000
#: below the data dir: the attempts' working directories
WORK_DIR = "work"
#: in an attempt's working directory: its HOME and TMPDIR
_HOME, _TMP = ".home", ".tmp"


def _bin_dir() -> Path:
    return Path(sys.executable).parent


def flytekit_available() -> bool:
    """Whether flytekit is importable by the task subprocesses (without importing it here)."""
    return importlib.util.find_spec("flytekit") is not None


class FlytekitRunner:
    """The runner of flytekit ``python-task`` tasks."""

    def __init__(self, config: SandboxConfig, blobs: BlobStore) -> None:
        self._config = config
        self._blobs = blobs
        self._slots: asyncio.Semaphore | None = None
        self._work = config.data_dir / WORK_DIR
        self._warm: WarmWorkers | None = None
        if config.task_workers == "warm" and sys.platform.startswith("linux"):
            home = self._work / ".warm-worker"
            self._warm = WarmWorkers(home, scratch_environment(dict(os.environ), home, base_env=True))

    async def close(self) -> None:
        """Stop the warm worker, if one was started."""
        if self._warm is not None:
            await self._warm.close()

    def _semaphore(self) -> asyncio.Semaphore:
        if self._slots is None:
            self._slots = asyncio.Semaphore(max(1, self._config.max_task_processes))
        return self._slots

    def command(self, request: TaskRequest, workdir: Path | None = None) -> list[str]:
        """The task's command line with templates replaced and console scripts resolved; a
        ``pyflyte-fast-execute --dest-dir`` is rewritten to ``workdir``, the attempt's working directory."""
        container = request.template.container
        replacements = {
            "{{.input}}": request.input_uri,
            "{{.Input}}": request.input_uri,
            "{{.outputPrefix}}": request.output_prefix,
            "{{.OutputPrefix}}": request.output_prefix,
            "{{.rawOutputDataPrefix}}": request.raw_output_prefix,
            "{{.RawOutputDataPrefix}}": request.raw_output_prefix,
            "{{.checkpointOutputPrefix}}": request.checkpoint_prefix,
            "{{.prevCheckpointPrefix}}": request.prev_checkpoint_prefix or '""',
            "{{.inputPrefix}}": request.input_uri.rsplit("/", 1)[0],
        }
        argv: list[str] = []
        for arg in [*container.command, *container.args]:
            for key, value in replacements.items():
                if key in arg:
                    arg = arg.replace(key, value)
            argv.append(arg)
        bin_dir = _bin_dir()
        if argv and not os.path.isabs(argv[0]):
            if argv[0] in ("python", "python3"):
                argv[0] = sys.executable
            elif (bin_dir / argv[0]).exists():
                argv[0] = str(bin_dir / argv[0])
        if workdir is not None and argv and os.path.basename(argv[0]) == "pyflyte-fast-execute":
            argv = _rewrite_dest_dir(argv, str(workdir))
        return argv

    def environment(self, request: TaskRequest, workdir: Path | None = None) -> dict[str, str]:
        """The subprocess environment, as a Flyte pod's; its scratch (HOME, TMPDIR) below ``workdir``."""
        env = dict(os.environ) if workdir is None else scratch_environment(os.environ, workdir)
        eid = request.execution_id
        tid = request.template.id
        spec = request.job.spec
        wf_id = request.job.closure.primary.template.id
        lp = spec.launch_plan
        env.update(
            {
                "FLYTE_INTERNAL_EXECUTION_ID": eid.name,
                "FLYTE_INTERNAL_EXECUTION_PROJECT": eid.project,
                "FLYTE_INTERNAL_EXECUTION_DOMAIN": eid.domain,
                "FLYTE_INTERNAL_EXECUTION_WORKFLOW": f"{wf_id.project}:{wf_id.domain}:{wf_id.name}",
                "FLYTE_INTERNAL_EXECUTION_LAUNCHPLAN": f"{lp.project}:{lp.domain}:{lp.name}",
                "FLYTE_INTERNAL_TASK_PROJECT": tid.project,
                "FLYTE_INTERNAL_TASK_DOMAIN": tid.domain,
                "FLYTE_INTERNAL_TASK_NAME": tid.name,
                "FLYTE_INTERNAL_TASK_VERSION": tid.version,
                "FLYTE_INTERNAL_PROJECT": tid.project,
                "FLYTE_INTERNAL_DOMAIN": tid.domain,
                "FLYTE_INTERNAL_NAME": tid.name,
                "FLYTE_INTERNAL_VERSION": tid.version,
                "FLYTE_INTERNAL_NODE_ID": request.node_unique_id,
                "FLYTE_ATTEMPT_NUMBER": str(request.attempt),
                "FLYTE_INTERNAL_INTERRUPTIBLE": "true" if request.interruptible else "false",
            }
        )
        for kv in request.template.container.env:
            env[kv.key] = kv.value
        env.update(request.envs)
        # pyflyte-fast-execute starts pyflyte-execute through PATH: put the sandbox's own bin dir first
        env["PATH"] = os.pathsep.join(p for p in (str(_bin_dir()), env.get("PATH", "")) if p)
        pythonpath = [*self._config.task_pythonpath]
        if os.environ.get("PYTHONPATH"):
            pythonpath.append(os.environ["PYTHONPATH"])
        if pythonpath:
            env["PYTHONPATH"] = os.pathsep.join(pythonpath)
        env.update(blobfs.task_environment(self._config.data_dir, env))
        return env

    def _attempt_dir(self, request: TaskRequest) -> Path:
        self._work.mkdir(parents=True, exist_ok=True)
        name = "".join(c if c.isalnum() or c in "-_" else "-" for c in request.node_unique_id)[:80]
        workdir = Path(
            tempfile.mkdtemp(prefix=f"{request.execution_id.name}-{name}-{request.attempt}-", dir=self._work)
        )
        for sub in (_HOME, _TMP):
            (workdir / sub).mkdir()
        return workdir

    async def run(self, request: TaskRequest, on_running: OnRunning) -> TaskResult:
        if not flytekit_available():
            return TaskResult.failure(
                SYSTEM,
                "FlytekitNotInstalled",
                f"task {request.template.id.name} is a flytekit {request.template.type!r} task, but flytekit is "
                "not installed in the sandbox's environment: pip install 'airflow-provider-flyte[flytekit]'",
            )
        argv = self.command(request)
        if not argv:
            return TaskResult.failure(USER, "EmptyCommand", "the task's container has no command or args")
        if shutil.which(argv[0], path=self.environment(request).get("PATH")) is None:
            return TaskResult.failure(
                USER, "CommandNotFound", f"cannot start the task command {argv[0]!r}: no such executable on PATH"
            )
        prefix_path = self._blobs.path(request.output_prefix)
        prefix_path.mkdir(parents=True, exist_ok=True)
        log_path = prefix_path / "task.log"
        log = execution_pb2.TaskLog(
            uri=log_path.as_uri(), name="Sandbox task log", message_format=execution_pb2.TaskLog.UNKNOWN
        )
        async with self._semaphore():
            workdir = self._attempt_dir(request)
            try:
                argv = self.command(request, workdir)
                env = self.environment(request, workdir)
                with open(log_path, "wb") as log_file:
                    if self._warm is not None and self._runs_warm(argv, env):
                        try:
                            returncode = await self._warm.run(
                                argv, env, workdir, log_path, lambda: on_running([log])
                            )
                        except WarmWorkerUnavailable:
                            returncode = await self._run_cold(argv, env, workdir, log_file, on_running, log)
                        except WarmWorkerLost as exc:
                            return TaskResult.failure(SYSTEM, "TaskWorkerLost", str(exc), recoverable=True)
                    else:
                        returncode = await self._run_cold(argv, env, workdir, log_file, on_running, log)
            except _StartFailed as exc:
                return TaskResult.failure(USER, "CommandNotFound", str(exc))
            finally:
                shutil.rmtree(workdir, ignore_errors=True)
        result = self._read_result(request, prefix_path, returncode, log_path)
        result.logs = [log]
        return result

    def _runs_warm(self, argv: list[str], env: dict[str, str]) -> bool:
        assert self._warm is not None
        return same_python(argv[0], _bin_dir()) and import_time_env_matches(env, self._warm.env)

    async def _run_cold(
        self,
        argv: list[str],
        env: dict[str, str],
        workdir: Path,
        log_file: BinaryIO,
        on_running: OnRunning,
        log: execution_pb2.TaskLog,
    ) -> int:
        """Run the attempt as a new process; returns its exit code."""
        try:
            proc = await asyncio.create_subprocess_exec(
                *dying_with_the_sandbox(argv),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log_file,
                stderr=asyncio.subprocess.STDOUT,
                env=env,
                cwd=workdir,
                start_new_session=True,
            )
        except OSError as exc:
            raise _StartFailed(f"cannot start the task command {argv[0]!r}: {exc}") from exc
        await on_running([log])
        try:
            return await proc.wait()
        except asyncio.CancelledError:
            _kill(proc)
            with contextlib.suppress(Exception):
                await asyncio.shield(proc.wait())
            raise

    def _read_result(self, request: TaskRequest, prefix: Path, returncode: int, log_path: Path) -> TaskResult:
        error_files = sorted(prefix.glob("error*.pb"))
        if error_files:
            doc = errors_pb2.ErrorDocument()
            doc.ParseFromString(error_files[0].read_bytes())
            err = doc.error
            return TaskResult(
                error=execution_error(
                    err.origin or USER, err.code, err.message, error_uri=blobfs.uri_for(error_files[0])
                ),
                recoverable=err.kind == errors_pb2.ContainerError.RECOVERABLE,
            )
        futures = prefix / "futures.pb"
        if futures.exists():
            return TaskResult(futures_uri=blobfs.uri_for(futures))
        outputs_file = prefix / "outputs.pb"
        if returncode != 0:
            return TaskResult.failure(
                USER,
                "NonZeroExitCode",
                f"the task process exited with code {returncode}; log tail:\n{_tail(log_path)}",
            )
        outputs = literals_pb2.LiteralMap()
        if outputs_file.exists():
            outputs.ParseFromString(outputs_file.read_bytes())
            return TaskResult(outputs=outputs, output_uri=blobfs.uri_for(outputs_file))
        if request.template.interface.outputs.variables:
            return TaskResult.failure(
                SYSTEM, "OutputsNotFound", f"the task exited without writing {blobfs.uri_for(outputs_file)}"
            )
        return TaskResult(outputs=outputs)


class _StartFailed(Exception):
    """The task command could not be started."""


def scratch_environment(base: Mapping[str, str], workdir: Path, base_env: bool = False) -> dict[str, str]:
    """``base`` with a process's scratch below ``workdir``: ``HOME``, ``TMPDIR`` (flytekit's local sandbox and
    temporary directories), no bytecode written next to the user's sources. ``base_env``: the warm worker's own
    environment, with ``FLYTE_INTERNAL_EXECUTION_ID`` set as in every task (flytekit picks its log handler on it
    at import)."""
    env = dict(base)
    env["HOME"] = str(workdir / _HOME)
    env["TMPDIR"] = str(workdir / _TMP)
    env.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    if base_env:
        env["FLYTE_INTERNAL_EXECUTION_ID"] = "warm-worker"
    return env


def _rewrite_dest_dir(argv: list[str], dest: str) -> list[str]:
    """``pyflyte-fast-execute``'s ``--dest-dir`` (before ``--``) set to ``dest``, as propeller renders it into the
    pod's working directory."""
    out = list(argv)
    for i, arg in enumerate(out):
        if arg == "--":
            break
        if arg == "--dest-dir" and i + 1 < len(out):
            out[i + 1] = dest
        elif arg.startswith("--dest-dir="):
            out[i] = f"--dest-dir={dest}"
    return out


# On Linux, the task command is started through this launcher: it asks the kernel to SIGKILL the process when
# the sandbox dies (PR_SET_PDEATHSIG, kept across exec), then execs the command in place (same pid). Done after
# the spawn rather than in a preexec_fn, which would make CPython fork() instead of vfork() and run grpc's fork
# handlers in the child (they abort it now and then).
_LAUNCHER = (
    "import ctypes, os, signal, sys\n"
    "ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)\n"  # 1 = PR_SET_PDEATHSIG
    "if os.getppid() != int(sys.argv[1]):\n"  # the sandbox died before prctl took effect
    "    sys.exit(1)\n"
    "os.execvp(sys.argv[2], sys.argv[2:])\n"
)


def dying_with_the_sandbox(argv: list[str]) -> list[str]:
    """``argv`` wrapped so that its process gets SIGKILL when the sandbox process dies, even by ``kill -9``.

    Executions do not survive the sandbox (docs/sandbox.md): without this an orphaned task would go on running
    user code for an execution already marked failed at the next start. Linux only; elsewhere ``argv`` as is.
    """
    if not sys.platform.startswith("linux"):
        return argv
    return [sys.executable, "-I", "-S", "-c", _LAUNCHER, str(os.getpid()), *argv]


def _kill(proc: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        proc.kill()


def _tail(path: Path) -> str:
    try:
        data = path.read_bytes()[-_LOG_TAIL:]
    except OSError:
        return "(no log)"
    return data.decode(errors="replace")
