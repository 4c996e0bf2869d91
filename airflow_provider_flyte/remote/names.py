"""Execution names: flyteadmin's validation rules and client-chosen names.

Every execution the client creates carries a name chosen here before the RPC, so that ``CreateExecution`` can be
retried safely: a retry that meets ALREADY_EXISTS returns the execution the first attempt created.
"""

from __future__ import annotations

import re
import secrets

from airflow_provider_flyte.remote.errors import FlyteInvalidInputError

#: flyteadmin's alphabet for generated names (k8s ``rand.String``): no vowels, no ambiguous characters.
ADMIN_NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
MAX_EXECUTION_NAME_LENGTH = 63
RANDOM_SUFFIX_LENGTH = 19
_NAME_RE = re.compile(r"^[a-z][a-z\-0-9]*$")


def random_suffix(length: int = RANDOM_SUFFIX_LENGTH) -> str:
    """``length`` random characters of flyteadmin's name alphabet."""
    return "".join(secrets.choice(ADMIN_NAME_ALPHABET) for _ in range(length))


def generate_execution_name() -> str:
    """A name like flyteadmin generates: ``"a"`` + 19 random characters."""
    return "a" + random_suffix()


def validate_execution_name(name: str, *, what: str = "execution name") -> str:
    """Check ``name`` against flyteadmin's rules (lowercased: ``^[a-z][a-z\\-0-9]*$``, at most 63 characters)."""
    if not isinstance(name, str) or not name:
        raise FlyteInvalidInputError(f"{what} must be a non-empty string, got {name!r}")
    lowered = name.lower()
    if len(lowered) > MAX_EXECUTION_NAME_LENGTH:
        raise FlyteInvalidInputError(
            f"{what} {name!r} is {len(lowered)} characters long; flyteadmin allows at most {MAX_EXECUTION_NAME_LENGTH}"
        )
    if not _NAME_RE.match(lowered):
        raise FlyteInvalidInputError(
            f"{what} {name!r} is invalid: it must start with a letter and contain only letters, digits and '-' "
            f"(flyteadmin's rule ^[a-z][a-z\\-0-9]*$ after lowercasing)"
        )
    return name


def resolve_execution_name(name: str | None = None, prefix: str | None = None) -> str:
    """The name to create an execution with: ``name`` as given, ``f"{prefix}-{19 random}"``, or a generated one.

    ``name`` and ``prefix`` are mutually exclusive. The result is validated before any RPC.
    """
    if name is not None and prefix is not None:
        raise FlyteInvalidInputError(
            "execution_name and execution_name_prefix are mutually exclusive: pass only one"
        )
    if name is not None:
        return validate_execution_name(name)
    if prefix is not None:
        validate_execution_name(prefix, what="execution_name_prefix")
        limit = MAX_EXECUTION_NAME_LENGTH - RANDOM_SUFFIX_LENGTH - 1
        if len(prefix) > limit:
            raise FlyteInvalidInputError(
                f"execution_name_prefix {prefix!r} is {len(prefix)} characters long; with '-' and the 19-character "
                f"random suffix the name would exceed {MAX_EXECUTION_NAME_LENGTH}: use at most {limit} characters"
            )
        return validate_execution_name(f"{prefix}-{random_suffix()}")
    return generate_execution_name()
