"""Deterministic Flyte execution names for Airflow task instances, and the retry decision.

A task instance (dag_id, run_id, task_id, map_index) owns a sequence of *generations* of execution names:
``<base>``, ``<base>-2``, ``<base>-3`` ... A try looks at all of them in one ``ListExecutions`` and

* attaches to the newest one if it is still running,
* reuses it if it succeeded,
* creates the next generation if it failed, was aborted or timed out: by recovering it (``on_retry="recover"``,
  flyteadmin's RecoverExecution: nodes that succeeded are not run again) or as a fresh execution
  (``on_retry="attach"``),
* creates generation 1 if none exists.

``on_retry="new"`` ignores the predecessor: the next generation is always a fresh execution (a still-running
predecessor is terminated first, so two never run at once).

So no retry ever duplicates work, and a worker that died between ``CreateExecution`` and the XCom push finds its
execution again (the client also treats ALREADY_EXISTS on a retried create as success).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Literal

MAX_NAME_LENGTH = 63
_NAME_RE = re.compile(r"^[a-z][a-z\-0-9]*$")


class ExecutionNameError(ValueError):
    """An execution name does not satisfy flyteadmin's rules."""


def validate_name(name: str, what: str = "execution_name") -> str:
    """Check flyteadmin's rule (``^[a-z][a-z\\-0-9]*$`` after lowercasing, at most 63 characters)."""
    if not isinstance(name, str) or not name:
        raise ExecutionNameError(f"{what} must be a non-empty string, got {name!r}")
    lowered = name.lower()
    if len(lowered) > MAX_NAME_LENGTH:
        raise ExecutionNameError(f"{what} {name!r} has {len(lowered)} characters; Flyte allows at most {MAX_NAME_LENGTH}")
    if not _NAME_RE.match(lowered):
        raise ExecutionNameError(
            f"{what} {name!r} is invalid: start with a letter and use only letters, digits and '-' "
            "(Flyte's rule ^[a-z][a-z-0-9]*$)"
        )
    return lowered


def base_name(dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> str:
    """20 characters (like flyteadmin's generated names) derived from the task instance's identity."""
    key = "\x1f".join((dag_id, run_id, task_id, str(map_index)))
    return "a" + hashlib.sha256(key.encode()).hexdigest()[:19]


def generation_name(base: str, generation: int) -> str:
    """Name of generation ``generation`` (1-based) of ``base``."""
    if generation < 1:
        raise ValueError(f"generation must be >= 1, got {generation}")
    return base if generation == 1 else f"{base}-{generation}"


def candidate_names(base: str, try_number: int) -> list[str]:
    """Every name a try numbered ``try_number`` may find (one generation per earlier try, plus its own)."""
    validate_name(generation_name(base, max(try_number, 1) + 1))
    return [generation_name(base, g) for g in range(1, max(try_number, 1) + 1)]


Action = Literal["create", "attach", "reuse", "recover"]
#: what a retry does with the execution of an earlier try (see the module docstring)
ON_RETRY = ("recover", "new", "attach")
_UNSUCCESSFUL = ("FAILED", "ABORTED", "TIMED_OUT")


@dataclass(frozen=True)
class Decision:
    """What a try does: create ``name``, attach to the running ``name``, reuse the succeeded ``name``, or
    recover ``replaces`` as ``name``."""

    action: Action
    name: str
    #: the earlier generation a new one replaces (recovered with action "recover")
    replaces: str | None = None
    #: the replaced generation is still running and must be terminated first (``on_retry="new"``)
    terminate: bool = False


def check_on_retry(value: str) -> str:
    """``value`` if it is one of :data:`ON_RETRY`, else a ValueError naming the choices."""
    if value not in ON_RETRY:
        raise ValueError(f"on_retry must be one of {', '.join(map(repr, ON_RETRY))}, got {value!r}")
    return value


def decide(base: str, try_number: int, phases: dict[str, str], on_retry: str = "attach") -> Decision:
    """Pick the action from the phases (by name) of the existing generations of ``base``.

    ``phases`` maps names found by ``ListExecutions`` to their phase name (``"RUNNING"``, ``"SUCCEEDED"`` ...).
    """
    check_on_retry(on_retry)
    names = candidate_names(base, try_number)
    existing = [g for g, n in enumerate(names, start=1) if n in phases]
    if not existing:
        return Decision("create", generation_name(base, 1))
    generation = existing[-1]
    newest = names[generation - 1]
    phase = phases[newest]
    following = generation_name(base, generation + 1)
    if on_retry == "new":
        return Decision("create", following, replaces=newest, terminate=phase not in ("SUCCEEDED", *_UNSUCCESSFUL))
    if phase == "SUCCEEDED":
        return Decision("reuse", newest)
    if phase in _UNSUCCESSFUL:
        return Decision("recover" if on_retry == "recover" else "create", following, replaces=newest)
    return Decision("attach", newest)
