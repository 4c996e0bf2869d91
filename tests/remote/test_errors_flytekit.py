"""flytekit's ``except`` clauses catch our errors, whatever the import order, without us importing flytekit."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("flytekit")

_CHECKS = """
from airflow_provider_flyte.remote import errors as ours
from flytekit.exceptions import base, system, user
from flytekit.remote.remote import RegistrationSkipped

cases = [
    (ours.error_from_status("NOT_FOUND", "gone"), user.FlyteEntityNotExistException),
    (ours.error_from_status("ALREADY_EXISTS", "dup"), user.FlyteEntityAlreadyExistsException),
    (ours.error_from_status("INVALID_ARGUMENT", "bad"), user.FlyteInvalidInputException),
    (ours.error_from_status("UNAUTHENTICATED", "who"), user.FlyteAuthenticationException),
    (ours.error_from_status("DEADLINE_EXCEEDED", "slow"), user.FlyteTimeout),
    (ours.error_from_status("UNAVAILABLE", "down"), system.FlyteSystemUnavailableException),
    (ours.error_from_status("INTERNAL", "boom"), system.FlyteSystemException),
    (ours.FlyteAssertionError("not done"), user.FlyteAssertion),
    (ours.FlyteTypeError("x"), user.FlyteTypeException),
    (ours.FlyteRegistrationSkippedError("skip"), RegistrationSkipped),
    (ours.FlyteConfigError("cfg"), base.FlyteException),
]
for exc, theirs in cases:
    try:
        raise exc
    except theirs as caught:
        assert str(caught) == exc.message, (str(caught), exc.message)
    assert isinstance(exc, ours.FlyteError)
# builtin families are kept
assert isinstance(ours.FlyteTimeoutError("t"), TimeoutError)
assert isinstance(ours.FlyteTypeError("t"), TypeError)
print("ok", len(cases))
"""


def _run(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


@pytest.mark.parametrize("flytekit_first", [True, False], ids=["flytekit-imported-first", "ours-imported-first"])
def test_flytekit_except_clauses_catch_our_errors(flytekit_first: bool) -> None:
    prelude = "import flytekit.remote.remote\n" if flytekit_first else "import airflow_provider_flyte.remote.errors\n"
    assert _run(prelude + _CHECKS).startswith("ok 11")


def test_errors_module_does_not_import_flytekit() -> None:
    out = _run(
        "import sys\nfrom airflow_provider_flyte.remote import errors\n"
        "errors.FlyteEntityNotFoundError('x')\nprint(any(m.startswith('flytekit') for m in sys.modules))"
    )
    assert out.strip() == "False"
