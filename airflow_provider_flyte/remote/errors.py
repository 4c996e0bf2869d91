"""One error hierarchy for the Flyte client, mapped from gRPC status codes in one place.

Every exception raised by :mod:`airflow_provider_flyte.remote` derives from :class:`FlyteError`. The flytekit
names (``FlyteEntityNotExistException`` ...) are provided as aliases so that code written against flytekit's
``FlyteRemote`` keeps catching the right thing after changing only its import.

``except`` clauses that name flytekit's own classes (``flytekit.exceptions.user.FlyteEntityNotExistException``,
``flytekit.remote.remote.RegistrationSkipped`` ...) catch our errors too: ``except`` matches on the exception
class's real MRO (``__subclasscheck__``/ABC registration are not consulted), so once flytekit's exception modules
are loaded (by the user's code) :func:`link_flytekit` adds flytekit's classes as extra bases of ours (see
``FLYTEKIT_BASES``). flytekit is never imported for this: only modules already in ``sys.modules`` are used, and
the check runs when this module is imported and whenever one of our errors is created (a dictionary lookup once
everything is linked). Messages stay ours (``str(exc)`` is the message).
"""

from __future__ import annotations

import sys
import threading
from typing import Any


class _Root(Exception):
    """A private base under :class:`FlyteError`, so that flytekit's ``FlyteException`` can be added beside it."""


class FlyteError(_Root):
    """Base class of every error raised by the Flyte client."""

    #: gRPC status code name (e.g. ``"NOT_FOUND"``) when the error came from the server, else ``None``.
    grpc_code: str | None = None
    #: the ``WorkflowExecutionIdentifier`` (project, domain, name) of the execution the failed call created or
    #: waited for: set on every error raised once an execution may exist, so a caller can attach to it instead of
    #: creating a duplicate
    execution_id: Any = None

    def __init__(self, message: str, *, grpc_code: str | None = None, details: Any = None) -> None:
        # not super(): with flytekit's classes linked as bases, their __init__s take other arguments
        Exception.__init__(self, message)
        self._timestamp: float | None = None  # flytekit's FlyteException.timestamp
        self.message = message
        if grpc_code is not None:
            self.grpc_code = grpc_code
        self.details = details
        if _pending:
            link_flytekit()

    def __str__(self) -> str:
        return self.message


class FlyteUserError(FlyteError):
    """The request was wrong: fix the call, retrying will not help."""


class FlyteEntityNotFoundError(FlyteUserError):
    """The task, workflow, launch plan, execution, node, signal or project does not exist (NOT_FOUND)."""


class FlyteEntityAlreadyExistsError(FlyteUserError):
    """An entity or execution with this identifier already exists (ALREADY_EXISTS)."""


class FlyteInvalidInputError(FlyteUserError):
    """The server or the client rejected an argument (INVALID_ARGUMENT, or a client-side check)."""


class FlyteTypeError(FlyteInvalidInputError, TypeError):
    """A Python value does not fit the Flyte type of the input it is given for."""


class FlyteFailedPreconditionError(FlyteUserError):
    """The entity is in a state that does not allow the call (FAILED_PRECONDITION), e.g. terminating a finished execution."""


class FlyteRegistrationError(FlyteInvalidInputError):
    """Registration conflicts with what is stored: same identifier, different content. Bump the version."""


class FlyteRegistrationSkippedError(FlyteError):
    """Registration was skipped because an identical entity already exists."""


class FlyteAuthenticationError(FlyteError):
    """Credentials are missing, invalid or expired and could not be refreshed (UNAUTHENTICATED / PERMISSION_DENIED)."""


class FlyteTimeoutError(FlyteError, TimeoutError):
    """A deadline passed: an RPC's deadline (DEADLINE_EXCEEDED) or a wait's timeout."""


class FlyteSystemError(FlyteError):
    """The server failed (INTERNAL, UNKNOWN, ...)."""


class FlyteSystemUnavailableError(FlyteSystemError):
    """The server could not be reached or is overloaded (UNAVAILABLE / RESOURCE_EXHAUSTED) after all retries."""


class FlyteAssertionError(FlyteUserError, AssertionError):
    """The object is not in a state that allows the access, e.g. outputs of an execution that is not done."""


class FlyteMissingArgumentError(FlyteInvalidInputError, FlyteAssertionError):
    """A required argument (``name`` ...) was not given: invalid input, and flytekit's ``FlyteAssertion``."""


class FlyteExecutionFailedError(FlyteError):
    """An execution ended in failure; carries the Flyte error (kind, code, message, failing node)."""

    def __init__(
        self,
        message: str,
        *,
        phase: str | None = None,
        kind: str | None = None,
        code: str | None = None,
        node_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.phase = phase
        self.kind = kind
        self.code = code
        self.node_id = node_id


class FlyteMissingNameError(FlyteUserError, KeyError, ValueError, AttributeError):
    """An input/output name that is not there: a ``KeyError`` (mapping protocol) that is also the ``ValueError``
    (``resolver[name]``) and ``AttributeError`` (``resolver.get(name)``) flytekit raises."""


class FlyteDownloadUsageError(FlyteInvalidInputError):
    """``download`` of a literal map without ``recursive=True`` (flytekit raises ``click.UsageError``, which
    this also is once click is loaded)."""

    ctx: Any = None  # click's UsageError.ctx


class FlyteConfigError(FlyteUserError):
    """The client configuration (endpoint, TLS, auth) is incomplete or contradictory."""


class FlyteMissingDependencyError(FlyteError, ImportError):
    """An optional dependency is needed for this feature; the message names the extra to install."""


# flytekit-compatible aliases (drop-in for ``from flytekit.exceptions.user import ...``).
FlyteException = FlyteError
FlyteUserException = FlyteUserError
FlyteEntityNotExistException = FlyteEntityNotFoundError
FlyteEntityAlreadyExistsException = FlyteEntityAlreadyExistsError
FlyteInvalidInputException = FlyteInvalidInputError
FlyteAuthenticationException = FlyteAuthenticationError
FlyteTimeout = FlyteTimeoutError
FlyteSystemException = FlyteSystemError
FlyteSystemUnavailableException = FlyteSystemUnavailableError
FlyteAssertion = FlyteAssertionError
FlyteValueException = FlyteInvalidInputError
FlyteTypeException = FlyteTypeError
RegistrationSkipped = FlyteRegistrationSkippedError

# ------------------------------------------------------------------------------- flytekit's except clauses

#: Our class -> (flytekit module, class name) added as an extra base once that module is loaded (and click's
#: ``UsageError``, which flytekit's ``download`` raises).
FLYTEKIT_BASES: dict[type[Exception], tuple[str, str]] = {
    FlyteError: ("flytekit.exceptions.base", "FlyteException"),
    FlyteUserError: ("flytekit.exceptions.user", "FlyteUserException"),
    FlyteEntityNotFoundError: ("flytekit.exceptions.user", "FlyteEntityNotExistException"),
    FlyteEntityAlreadyExistsError: ("flytekit.exceptions.user", "FlyteEntityAlreadyExistsException"),
    FlyteInvalidInputError: ("flytekit.exceptions.user", "FlyteInvalidInputException"),
    FlyteTypeError: ("flytekit.exceptions.user", "FlyteTypeException"),
    FlyteAssertionError: ("flytekit.exceptions.user", "FlyteAssertion"),
    FlyteAuthenticationError: ("flytekit.exceptions.user", "FlyteAuthenticationException"),
    FlyteTimeoutError: ("flytekit.exceptions.user", "FlyteTimeout"),
    FlyteSystemError: ("flytekit.exceptions.system", "FlyteSystemException"),
    FlyteSystemUnavailableError: ("flytekit.exceptions.system", "FlyteSystemUnavailableException"),
    # flytekit maps FAILED_PRECONDITION (e.g. terminating a finished execution) to its FlyteSystemException
    FlyteFailedPreconditionError: ("flytekit.exceptions.system", "FlyteSystemException"),
    FlyteRegistrationSkippedError: ("flytekit.remote.remote", "RegistrationSkipped"),
    FlyteDownloadUsageError: ("click.exceptions", "UsageError"),
}
# parents before children, so every C3 merge sees its parents' final MRO
_pending: list[type[Exception]] = list(FLYTEKIT_BASES)
_link_lock = threading.Lock()


def link_flytekit() -> None:
    """Add flytekit's exception classes as bases of ours for every flytekit module already imported.

    Never imports flytekit. Idempotent and thread-safe; called when this module is imported and whenever one of
    our errors is created, so ``except <flytekit class>`` works whatever the import order of the user's script.
    """
    with _link_lock:
        for ours in list(_pending):
            module_name, class_name = FLYTEKIT_BASES[ours]
            module = sys.modules.get(module_name)
            theirs = getattr(module, class_name, None) if module is not None else None
            if not isinstance(theirs, type):
                continue
            _pending.remove(ours)
            if not issubclass(ours, theirs):
                first, *rest = ours.__bases__  # flytekit's class before builtin bases (TypeError ...): a valid MRO
                try:
                    ours.__bases__ = (first, theirs, *rest)
                except TypeError:  # pragma: no cover - a future flytekit hierarchy we cannot merge: keep ours
                    continue


link_flytekit()

_BY_CODE: dict[str, type[FlyteError]] = {
    "NOT_FOUND": FlyteEntityNotFoundError,
    "ALREADY_EXISTS": FlyteEntityAlreadyExistsError,
    "INVALID_ARGUMENT": FlyteInvalidInputError,
    "OUT_OF_RANGE": FlyteInvalidInputError,
    "FAILED_PRECONDITION": FlyteFailedPreconditionError,
    "UNAUTHENTICATED": FlyteAuthenticationError,
    "PERMISSION_DENIED": FlyteAuthenticationError,
    "DEADLINE_EXCEEDED": FlyteTimeoutError,
    "UNAVAILABLE": FlyteSystemUnavailableError,
    "RESOURCE_EXHAUSTED": FlyteSystemUnavailableError,
}

#: Codes that are transient: retried with backoff when the call is idempotent.
RETRYABLE_CODES = frozenset({"UNAVAILABLE", "RESOURCE_EXHAUSTED", "DEADLINE_EXCEEDED"})


def error_from_status(code_name: str, message: str, *, rpc: str | None = None, details: Any = None) -> FlyteError:
    """Map a gRPC status (by code name, e.g. ``"NOT_FOUND"``) to the matching :class:`FlyteError` subclass.

    This is the only place where gRPC codes become client exceptions.
    """
    cls = _BY_CODE.get(code_name, FlyteSystemError)
    if code_name == "INVALID_ARGUMENT" and "different structure already exists" in message:
        cls = FlyteRegistrationError
    text = f"{rpc}: {message}" if rpc else message
    return cls(text, grpc_code=code_name, details=details)
