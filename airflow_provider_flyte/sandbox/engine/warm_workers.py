"""Warm flytekit task workers: one process that imported flytekit once forks a child per task attempt.

A cold ``pyflyte-execute`` process spends about 2 s importing flytekit before it runs a task; a child forked from
the warm worker (:mod:`~airflow_provider_flyte.sandbox.engine.warm_worker_main`) starts at once and then behaves as
that process would (same argv, environment, working directory, stdout/stderr, exit code). The worker is started on
first use through the same launcher as cold task processes, so it and its children die with the sandbox; a child
is killed (its whole process group) when its attempt is cancelled (abort, timeout). Linux only.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import sys
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airflow_provider_flyte.sandbox.engine import warm_worker_main

log = logging.getLogger(__name__)

#: the console scripts a warm worker runs (others run cold)
WARM_COMMANDS = frozenset({*warm_worker_main.ENTRYPOINTS, warm_worker_main.FAST_EXECUTE})

#: environment variables read when flytekit or the interpreter starts: a task that sets one of them to another value
#: than the worker's runs cold, so that it sees exactly what a fresh process would
IMPORT_TIME_ENV = frozenset(
    {
        "FLYTE_SDK_LOGGING_LEVEL",
        "FLYTE_SDK_DEV_LOGGING_LEVEL",
        "FLYTE_SDK_LOGGING_FORMAT",
        "FLYTE_SDK_RICH_TRACEBACKS",
        "FLYTE_PYTHON_PACKAGE_ROOT",
        "_F_P_WRITE_CHUNK_SIZE",
        "_F_TE_MAX_COROS",
        "LANG",
        "LC_ALL",
        "LC_CTYPE",
        "TZ",
    }
)


class WarmWorkerUnavailable(Exception):
    """The attempt was not started (no warm worker could take it); running it cold is safe."""


class WarmWorkerLost(Exception):
    """The warm worker died while the attempt's process was running (it was killed with it)."""


def import_time_env_matches(env: Mapping[str, str], worker_env: Mapping[str, str]) -> bool:
    """Whether ``env`` agrees with the worker's on every variable read at interpreter or flytekit start."""
    names = IMPORT_TIME_ENV | {
        k for k in (*env, *worker_env) if k.startswith("PYTHON") and k != "PYTHONPATH"
    }
    return all(env.get(name) == worker_env.get(name) for name in names)


@dataclass
class _Attempt:
    started: asyncio.Future[int] = field(default_factory=lambda: asyncio.get_running_loop().create_future())
    exited: asyncio.Future[int] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class WarmWorkers:
    """A warm worker process, started on first use and again after it died."""

    def __init__(self, home: Path, env: dict[str, str]) -> None:
        #: the worker's working directory; ``env``: its environment (HOME and TMPDIR below ``home``)
        self.home = home
        self.env = env
        self._proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._attempts: dict[int, _Attempt] = {}
        self._next_id = 0
        self._lock: asyncio.Lock | None = None
        #: why warm workers cannot run here (then every task runs cold)
        self.broken: str | None = None

    async def run(
        self,
        argv: list[str],
        env: dict[str, str],
        cwd: Path,
        log_path: Path,
        on_started: Callable[[], Awaitable[None]],
    ) -> int:
        """Run one attempt in a forked child; returns its exit code (negative: killed by that signal).

        Raises :class:`WarmWorkerUnavailable` when the attempt did not start, :class:`WarmWorkerLost` when the
        worker died under it. Cancelling kills the child's process group and waits for it.
        """
        proc = await self._ensure_started()
        self._next_id += 1
        request_id = self._next_id
        attempt = _Attempt()
        self._attempts[request_id] = attempt
        try:
            await self._send(
                proc,
                {"op": "run", "id": request_id, "argv": argv, "env": env, "cwd": str(cwd), "log": str(log_path)},
            )
            await attempt.started
            await on_started()
            try:
                return await asyncio.shield(attempt.exited)
            except asyncio.CancelledError:
                with contextlib.suppress(Exception):
                    await self._send(proc, {"op": "kill", "id": request_id})
                    await asyncio.wait_for(asyncio.shield(attempt.exited), 10)
                raise
        finally:
            self._attempts.pop(request_id, None)

    async def _send(self, proc: asyncio.subprocess.Process, message: dict[str, Any]) -> None:
        assert proc.stdin is not None
        try:
            proc.stdin.write((json.dumps(message) + "\n").encode())
            await proc.stdin.drain()
        except (ConnectionError, RuntimeError) as exc:
            raise WarmWorkerUnavailable(f"the warm task worker is gone: {exc}") from exc

    async def _ensure_started(self) -> asyncio.subprocess.Process:
        if self.broken is not None:
            raise WarmWorkerUnavailable(self.broken)
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._proc is None or self._proc.returncode is not None:
                self._proc = await self._spawn()
                self._reader = asyncio.create_task(self._read(self._proc), name="warm-task-worker")
            return self._proc

    async def _spawn(self) -> asyncio.subprocess.Process:
        from airflow_provider_flyte.sandbox.engine.flytekit_runner import dying_with_the_sandbox

        for scratch in (self.home, Path(self.env["HOME"]), Path(self.env["TMPDIR"])):
            scratch.mkdir(parents=True, exist_ok=True)
        argv = [sys.executable, "-c", warm_worker_main.BOOT, warm_worker_main.__file__]
        with open(self.home / "worker.log", "ab") as stderr:
            try:
                return await asyncio.create_subprocess_exec(
                    *dying_with_the_sandbox(argv),
                    stdin=asyncio.subprocess.PIPE,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=stderr,
                    env=self.env,
                    cwd=self.home,
                    start_new_session=True,
                )
            except OSError as exc:
                self.broken = f"cannot start the warm task worker: {exc}"
                raise WarmWorkerUnavailable(self.broken) from exc

    async def _read(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        answered = False
        while line := await proc.stdout.readline():
            message = json.loads(line)
            answered = True
            attempt = self._attempts.get(message["id"])
            if attempt is None:
                continue
            if "pid" in message and not attempt.started.done():
                attempt.started.set_result(message["pid"])
            elif "exit" in message and not attempt.exited.done():
                attempt.exited.set_result(message["exit"])
        code = await proc.wait()
        if not answered and code != 0 and self._proc is proc:
            self.broken = f"the warm task worker exited with code {code} (see {self.home / 'worker.log'})"
            log.warning("%s; flytekit tasks run as cold processes", self.broken)
        for attempt in self._attempts.values():
            if not attempt.started.done():
                attempt.started.set_exception(WarmWorkerUnavailable("the warm task worker exited"))
            elif not attempt.exited.done():
                attempt.exited.set_exception(WarmWorkerLost(f"the warm task worker exited with code {code}"))

    async def close(self) -> None:
        """Stop the worker (it kills its children) and remove its directory."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.returncode is None:
            if proc.stdin is not None:
                proc.stdin.close()
            try:
                await asyncio.wait_for(proc.wait(), 5)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()
        if self._reader is not None:
            with contextlib.suppress(Exception):
                await self._reader
            self._reader = None
        shutil.rmtree(self.home, ignore_errors=True)


def same_python(argv0: str, bin_dir: Path) -> bool:
    """Whether ``argv0`` is a console script of the sandbox's own Python that a warm worker can run."""
    return os.path.basename(argv0) in WARM_COMMANDS and Path(argv0).parent == bin_dir
