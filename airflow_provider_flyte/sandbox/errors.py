"""Errors raised inside the sandbox. The server layer turns them into gRPC statuses (never UNKNOWN)."""

from __future__ import annotations

import grpc


class SandboxError(Exception):
    """An error with the gRPC status code and message flyteadmin would return."""

    def __init__(self, code: grpc.StatusCode, message: str, details: bytes | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        #: optional serialized ``google.rpc.Status`` details (e.g. CreateWorkflowFailureReason), sent as
        #: ``grpc-status-details-bin`` trailing metadata.
        self.details = details


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
