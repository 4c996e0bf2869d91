"""A DAG using a secret-bearing connection (sandbox with OAuth2 client credentials): the client secret and the
access tokens the sandbox issued appear nowhere in task logs, XCom, rendered fields or serialized triggers."""

from __future__ import annotations

import json
import os
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_flyte.sandbox.config import AuthSettings
from tests.airflow.test_example_dags import run_dag, xcoms

SECRET = "s3cr3t-Flyte-client-secret-7f2d9c"
CLIENT_ID = "airflow-client"


@pytest.fixture
def auth_sandbox(fresh_sandbox: Any, airflow_db: Path) -> Any:
    from flyte_examples_registry import register_examples

    from airflow_provider_flyte.remote.client import FlyteRemote
    from airflow_provider_flyte.remote.config import Config, PlatformConfig

    sb = fresh_sandbox(auth=AuthSettings(enabled=True, client_id=CLIENT_ID, client_secret=SECRET))
    platform = PlatformConfig(endpoint=sb.endpoint, insecure=True, client_id=CLIENT_ID, client_secret=SECRET)
    with FlyteRemote(Config(platform=platform), default_project="flytesnacks", default_domain="development") as r:
        register_examples(r)
    old = os.environ.get("AIRFLOW_CONN_FLYTE_DEFAULT")
    os.environ["AIRFLOW_CONN_FLYTE_DEFAULT"] = (
        f"flyte://{CLIENT_ID}:{urllib.parse.quote(SECRET, safe='')}@{sb.endpoint}"
        "?insecure=true&project=flytesnacks&domain=development&auth_mode=client_credentials"
    )
    yield sb
    if old is None:
        os.environ.pop("AIRFLOW_CONN_FLYTE_DEFAULT", None)
    else:
        os.environ["AIRFLOW_CONN_FLYTE_DEFAULT"] = old


def _db_texts(dr: Any) -> dict[str, str]:
    from airflow.models.renderedtifields import RenderedTaskInstanceFields
    from airflow.models.trigger import Trigger
    from airflow.utils.session import create_session

    xcom = xcoms(dr)
    with create_session() as session:
        rtif = session.query(RenderedTaskInstanceFields).filter(
            RenderedTaskInstanceFields.dag_id == dr.dag_id, RenderedTaskInstanceFields.run_id == dr.run_id
        ).all()
        triggers = session.query(Trigger).all()
        return {
            "xcom": json.dumps(list(xcom.items()), default=str),
            "rendered": json.dumps([r.rendered_fields for r in rtif], default=str),
            "triggers": json.dumps([(t.classpath, t.kwargs) for t in triggers], default=str),
            "n_xcom": str(len(xcom)),
            "n_rendered": str(len(rtif)),
        }


def test_no_secret_or_token_leaks(
    auth_sandbox: Any, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    try:
        from airflow.sdk import serde
    except ImportError:  # Airflow 2
        from airflow.serialization import serde

    from airflow_provider_flyte.hooks.flyte import FlyteHook
    from airflow_provider_flyte.triggers.flyte import FlyteExecutionTrigger

    # record the trigger the worker really hands the triggerer: Airflow 3's dag.test() serializes it (the real
    # serialize(), observed) and runs it inline, storing no trigger row; Airflow 2's runs the object it was given
    # without serializing, so there we serialize that very object
    serialized: list[tuple[str, dict[str, Any]]] = []
    deferred: list[FlyteExecutionTrigger] = []
    real_serialize = FlyteExecutionTrigger.serialize
    real_init = FlyteExecutionTrigger.__init__

    def recording(self: FlyteExecutionTrigger) -> tuple[str, dict[str, Any]]:
        result = real_serialize(self)
        serialized.append(result)
        return result

    def remembering(self: FlyteExecutionTrigger, *args: Any, **kwargs: Any) -> None:
        real_init(self, *args, **kwargs)
        deferred.append(self)

    monkeypatch.setattr(FlyteExecutionTrigger, "serialize", recording)
    monkeypatch.setattr(FlyteExecutionTrigger, "__init__", remembering)
    dr, states = run_dag("example_flyte_execute")
    if not serialized:
        from airflow_provider_flyte._compat import AIRFLOW_V_3

        assert not AIRFLOW_V_3, "Airflow 3's dag.test() serializes the trigger it defers to"
        serialized = [real_serialize(t) for t in deferred]
    assert states == {"arith": "success", "report": "success"}
    out, err = capfd.readouterr()

    texts = _db_texts(dr)
    assert int(texts.pop("n_xcom")) >= 4 and int(texts.pop("n_rendered")) >= 2  # the scan looks at real rows
    texts["console"] = out + err
    logs = Path(os.environ["AIRFLOW_HOME"]) / "logs"
    texts["log files"] = "\n".join(p.read_text(errors="replace") for p in logs.rglob("*") if p.is_file())
    # the trigger exactly as the worker handed it to the (inline) triggerer
    hook = FlyteHook()
    assert hook.get_settings().client_secret == SECRET  # the connection really carries the secret
    name = xcoms(dr)[("arith", -1, "flyte_execution_name")]
    assert serialized and {kwargs["execution_name"] for _, kwargs in serialized} == {name}, serialized
    texts["serialized trigger"] = json.dumps([[c, serde.serialize(kwargs)] for c, kwargs in serialized], default=str)
    texts["hook repr"] = repr(hook.get_settings())

    tokens = list(auth_sandbox.sandbox.tokens._tokens)
    assert tokens, "the sandbox issued no token: the DAG did not authenticate"
    for where, text in texts.items():
        assert SECRET not in text, f"client secret found in {where}"
        assert urllib.parse.quote(SECRET, safe="") not in text, f"client secret (URL-encoded) found in {where}"
        for token in tokens:
            assert token not in text, f"access token found in {where}"
