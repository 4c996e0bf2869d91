"""The warm task worker: a process that has imported flytekit once and forks one child per task attempt.

The sandbox starts it (:mod:`airflow_provider_flyte.sandbox.engine.warm_workers`) with :data:`BOOT`, which loads
this file by path, so that nothing of the sandbox is imported into task processes. Standard library only at
import time. The worker imports flytekit's entrypoint, checks that it is still single-threaded (forking a process
with threads or live gRPC channels is unsafe), then serves JSON lines on stdin/stdout:

- ``{"op": "run", "id": N, "argv": [...], "env": {...}, "cwd": DIR, "log": FILE}`` forks a child, answered by
  ``{"id": N, "pid": PID}`` and, once the child has been reaped, ``{"id": N, "exit": CODE}`` (negative: killed
  by that signal, as ``subprocess`` reports it);
- ``{"op": "kill", "id": N}`` SIGKILLs the child's process group (no-op once it has exited).

On end of input it kills its children and exits. The child becomes what a cold ``pyflyte-execute`` process would
be: its own session, SIGKILL when the worker dies, stdin ``/dev/null``, stdout and stderr to the log file, the task's
environment, working directory, ``sys.argv`` and ``sys.path``; flytekit's import-time state that depends on the
environment or makes scratch directories is made afresh; then the console script's entry point runs and the
interpreter exits as usual (threads joined, atexit handlers run). ``pyflyte-fast-execute`` is run with its own
semantics: the code bundle is downloaded into ``--dest-dir``, which is appended to ``PYTHONPATH``, and the inner
``pyflyte-execute`` runs in the same child. A child that would not be faithful to a fresh interpreter (a path entry
of the task shadowing a module the worker has imported) execs the cold command instead.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import signal
import sys
from typing import Any, NoReturn

#: the console scripts a child runs in-process
ENTRYPOINTS = ("pyflyte-execute", "pyflyte-map-execute")
FAST_EXECUTE = "pyflyte-fast-execute"

#: the program the sandbox runs (``python -c BOOT <this file>``)
BOOT = (
    "import importlib.util, sys\n"
    "spec = importlib.util.spec_from_file_location('_flyte_sandbox_warm_worker', sys.argv[1])\n"
    "module = importlib.util.module_from_spec(spec)\n"
    "sys.modules[spec.name] = module\n"
    "spec.loader.exec_module(module)\n"
    "sys.exit(module.main())\n"
)

#: exit code of a worker whose imports left threads running (the sandbox then runs tasks cold)
NOT_FORK_SAFE = 3


def main() -> int:
    """Serve requests; returns the exit code of the worker, or (in a child) never returns normally."""
    entry_points = _preload()
    import threading

    if threading.active_count() != 1:
        sys.stderr.write(f"warm worker: {threading.active_count()} threads after importing flytekit\n")
        return NOT_FORK_SAFE
    own_path = [p for p in sys.path if p]
    base_path = [p for p in own_path if p not in _pythonpath(os.environ)]
    preloaded = _top_level_modules()
    import gc

    gc.freeze()  # keep the imported objects' pages shared with the children
    child = _serve()
    if child is None:
        return 0
    return _Child(child, entry_points, own_path, base_path, preloaded).run()


def _preload() -> dict[str, Any]:
    from importlib.metadata import entry_points

    import flytekit.bin.entrypoint
    import flytekit.tools.fast_registration  # noqa: F401

    loaded = {}
    for ep in entry_points(group="console_scripts"):
        if ep.name in (*ENTRYPOINTS, FAST_EXECUTE):
            loaded[ep.name] = ep.load()
    return loaded


def _top_level_modules() -> frozenset[str]:
    return frozenset(name.partition(".")[0] for name in sys.modules)


def _pythonpath(env: dict[str, str] | os._Environ[str]) -> list[str]:
    return [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]


def _reply(message: dict[str, Any]) -> None:
    data = (json.dumps(message) + "\n").encode()
    while data:
        data = data[os.write(1, data) :]


def _serve() -> dict[str, Any] | None:
    """The request loop; returns the request in a forked child, None in the worker at end of input."""
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.set_wakeup_fd(wake_w)
    selector = selectors.DefaultSelector()
    selector.register(0, selectors.EVENT_READ, "requests")
    selector.register(wake_r, selectors.EVENT_READ, "children")
    children: dict[int, int] = {}  # pid -> request id
    buffer = b""
    while True:
        for key, _ in selector.select():
            if key.data == "children":
                with contextlib.suppress(BlockingIOError):
                    os.read(wake_r, 4096)
                continue
            data = os.read(0, 65536)
            if not data:
                for pid in children:
                    _kill(pid)
                return None
            buffer += data
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                request = json.loads(line)
                if request["op"] == "kill":
                    for pid, request_id in children.items():
                        if request_id == request["id"]:
                            _kill(pid)
                    continue
                sys.stdout.flush()
                sys.stderr.flush()
                pid = os.fork()
                if pid == 0:
                    signal.set_wakeup_fd(-1)
                    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                    selector.close()
                    os.close(wake_r)
                    os.close(wake_w)
                    return dict(request)
                children[pid] = request["id"]
                _reply({"id": request["id"], "pid": pid})
        _reap(children)


def _reap(children: dict[int, int]) -> None:
    while children:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        request_id = children.pop(pid, None)
        if request_id is not None:
            _reply({"id": request_id, "exit": os.waitstatus_to_exitcode(status)})


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


class _Child:
    """One task attempt in a forked child."""

    def __init__(
        self,
        request: dict[str, Any],
        entry_points: dict[str, Any],
        own_path: list[str],
        base_path: list[str],
        preloaded: frozenset[str],
    ) -> None:
        self.argv: list[str] = list(request["argv"])
        self.env: dict[str, str] = dict(request["env"])
        self.cwd: str = request["cwd"]
        self.log: str = request["log"]
        self.entry_points = entry_points
        #: the worker's ``sys.path`` when it imported flytekit, and that path without its ``PYTHONPATH`` entries
        self.own_path = own_path
        self.base_path = base_path
        self.preloaded = preloaded

    def run(self) -> int:
        worker = os.getppid()
        os.setsid()
        _die_with(worker)
        self._redirect()
        os.environ.clear()
        os.environ.update(self.env)
        os.chdir(self.cwd)
        name = os.path.basename(self.argv[0])
        if name == FAST_EXECUTE:
            return self._fast_execute()
        return self._execute(self.argv)

    def _redirect(self) -> None:
        devnull = os.open(os.devnull, os.O_RDONLY)
        log = os.open(self.log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(devnull, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(devnull)
        os.close(log)

    def _execute(self, argv: list[str]) -> NoReturn:
        """Run a console script in this process as a fresh interpreter would, or exec it when that is not faithful."""
        entry = self.entry_points.get(os.path.basename(argv[0]))
        if entry is None or not self._set_path(argv[0]):
            os.execvpe(argv[0], argv, os.environ)
        _fresh_flytekit_state()
        sys.argv = list(argv)
        sys.exit(entry())

    def _set_path(self, script: str) -> bool:
        """``sys.path`` as the interpreter of ``script`` would set it; False if it would shadow a loaded module."""
        extra = [p for p in _pythonpath(os.environ) if p not in self.own_path]
        for entry in extra:
            with contextlib.suppress(OSError):
                names = {n.partition(".")[0] for n in os.listdir(entry)}
                if names & self.preloaded:
                    return False
        path = [os.path.dirname(os.path.realpath(script)), *_pythonpath(os.environ), *self.base_path]
        sys.path[:] = list(dict.fromkeys(os.path.abspath(p) for p in path))  # as site.removeduppaths()
        return True

    def _fast_execute(self) -> int:
        """``pyflyte-fast-execute``: download the code bundle, then run the inner command with it on the path."""
        import click

        command = self.entry_points[FAST_EXECUTE]
        try:
            params = command.make_context(FAST_EXECUTE, list(self.argv[1:])).params
        except click.exceptions.ClickException:
            return self._execute(self.argv)  # the cold command reports the usage error
        distribution, dest_dir = params.get("additional_distribution"), params.get("dest_dir")
        inner = list(params.get("task_execute_cmd") or ())
        if distribution is not None:
            if not dest_dir:
                dest_dir = os.getcwd()
            self._set_path(self.argv[0])
            _fresh_flytekit_state()
            from flytekit.tools.fast_registration import download_distribution

            download_distribution(distribution, dest_dir)
        cmd: list[str] = []
        for arg in inner:
            if arg == "--resolver":
                cmd += ["--dynamic-addl-distro", str(distribution), "--dynamic-dest-dir", str(dest_dir)]
            cmd.append(arg)
        if dest_dir is not None:
            resolved = os.path.realpath(os.path.expanduser(dest_dir))
            current = os.environ.get("PYTHONPATH")
            os.environ["PYTHONPATH"] = current + os.pathsep + resolved if current is not None else resolved
        if not cmd:
            return 0
        import shutil

        found = shutil.which(cmd[0])
        if found is None or os.path.basename(found) not in ENTRYPOINTS:
            os.execvpe(cmd[0], cmd, os.environ)
        return self._execute([found, *cmd[1:]])


def _die_with(parent: int) -> None:
    """SIGKILL this process when ``parent`` dies (PR_SET_PDEATHSIG; kept across exec)."""
    import ctypes

    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)
    if os.getppid() != parent:
        os._exit(1)


def _fresh_flytekit_state() -> None:
    """Redo what importing flytekit did that depends on the environment or made scratch directories, as a fresh
    interpreter with this environment would have done (flytekit 1.16: ``tempfile``'s cached directory, the default
    ``Config.local_sandbox_path``, the default local file access provider and the initial context)."""
    import tempfile

    from flytekit import configuration
    from flytekit.core import context_manager, data_persistence

    tempfile.tempdir = None
    old = configuration.Config.local_sandbox_path
    new = tempfile.mkdtemp(prefix="flyte")
    configuration.Config.local_sandbox_path = new  # type: ignore[misc]
    init = configuration.Config.__init__
    if init.__defaults__:
        init.__defaults__ = tuple(new if d == old else d for d in init.__defaults__)
    scratch = tempfile.mkdtemp(prefix="flyte-")
    provider = data_persistence.FileAccessProvider(
        local_sandbox_dir=os.path.join(scratch, "sandbox"),
        raw_output_prefix=os.path.join(scratch, "raw"),
        data_config=configuration.DataConfig.auto(),
    )
    data_persistence.flyte_tmp_dir = scratch
    data_persistence.default_local_file_access_provider = provider
    context_manager.default_local_file_access_provider = provider  # type: ignore[attr-defined]
    context_manager.FlyteContextManager.initialize()
