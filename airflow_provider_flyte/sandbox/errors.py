"""Errors raised inside the sandbox. The server layer turns them into gRPC statuses (never UNKNOWN)."""

from __future__ import annotations

import grpc

#: Longest error message sent to clients, in characters. gRPC clients refuse trailing metadata above 8 KiB by
#: default (``RESOURCE_EXHAUSTED`` instead of the real status); the message travels percent-encoded in
#: ``grpc-message`` and again inside ``grpc-status-details-bin``, so a message echoing an oversized request field
#: (a 10,000-character name, a long structure diff) must be cut to keep the status the client receives.
MAX_MESSAGE_CHARS = 1024


class SandboxError(Exception):
    """An error with the gRPC status code and message flyteadmin would return."""

    def __init__(self, code: grpc.StatusCode, message: str, details: bytes | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        #: optional serialized ``google.rpc.Status`` details (e.g. CreateWorkflowFailureReason), sent as
        #: ``grpc-status-details-bin`` trailing metadata.
        self.details = details

    def bounded(self, max_chars: int = MAX_MESSAGE_CHARS) -> SandboxError:
        """This error with its message (also inside ``details``) cut to ``max_chars`` characters."""
        if len(self.message) <= max_chars:
            return self
        cut = len(self.message) - max_chars
        message = f"{self.message[:max_chars]}... ({cut} more characters)"
        details = self.details
        if details is not None:
            from google.rpc import status_pb2  # type: ignore[import-untyped]

            status = status_pb2.Status.FromString(details)
            status.message = message
            details = status.SerializeToString()
        return SandboxError(self.code, message, details)


def invalid(message: str) -> SandboxError:
    return SandboxError(grpc.StatusCode.INVALID_ARGUMENT, message)


def not_found(message: str) -> SandboxError:
    return SandboxError(grpc.StatusCode.NOT_FOUND, message)


def already_exists(message: str, details: bytes | None = None) -> SandboxError:
    return SandboxError(grpc.StatusCode.ALREADY_EXISTS, message, details)


def failed_precondition(message: str, details: bytes | None = None) -> SandboxError:
    return SandboxError(grpc.StatusCode.FAILED_PRECONDITION, message, details)


def unauthenticated(message: str) -> SandboxError:
    return SandboxError(grpc.StatusCode.UNAUTHENTICATED, message)
