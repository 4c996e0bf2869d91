"""One error hierarchy for the Flyte client, mapped from gRPC status codes in one place.

Every exception raised by :mod:`airflow_provider_flyte.remote` derives from :class:`FlyteError`. The flytekit
names (``FlyteEntityNotExistException`` ...) are provided as aliases so that code written against flytekit's
``FlyteRemote`` keeps catching the right thing after changing only its import.
"""

from __future__ import annotations

from typing import Any


class FlyteError(Exception):
    """Base class of every error raised by the Flyte client."""

    #: gRPC status code name (e.g. ``"NOT_FOUND"``) when the error came from the server, else ``None``.
    grpc_code: str | None = None
    #: the ``WorkflowExecutionIdentifier`` (project, domain, name) of the execution the failed call created or
    #: waited for: set on every error raised once an execution may exist, so a caller can attach to it instead of
    #: creating a duplicate
    execution_id: Any = None

    def __init__(self, message: str, *, grpc_code: str | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        if grpc_code is not None:
            self.grpc_code = grpc_code
        self.details = details


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
