"""Drop-in suite: the same user scripts (``dropin_scripts.py``) run with flytekit's ``FlyteRemote`` and with ours
on one sandbox, only the ``FlyteRemote`` import swapped, must see the same values, types, phases and caught
exception classes. The entities are flytekit code registered by flytekit."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests.conformance import dropin_scripts as scripts

pytestmark = pytest.mark.flytekit

P, D = scripts.P, scripts.D


@pytest.fixture(scope="module")
def registered(fk_remote: Any) -> str:
    """The suite's entities, registered by flytekit under one version."""
    from flytekit.configuration import ImageConfig, SerializationSettings

    from tests.conformance import dropin_workflows as dw
    from tests.conformance import workflows as wfs

    version = "s" + uuid.uuid4().hex[:10]
    settings = SerializationSettings(
        image_config=ImageConfig.auto_default_image(), project=P, domain=D, version=version
    )
    for wf in (wfs.simple_wf, wfs.parent_wf, wfs.gated_wf, wfs.signal_wf, wfs.failing_wf, dw.dynamic_wf, dw.note_wf):
        fk_remote.register_workflow(wf, serialization_settings=settings, version=version)
    daily = fk_remote.register_launch_plan(dw.daily_lp, version=version, serialization_settings=settings)
    fk_remote.activate_launchplan(daily.id)
    return version


@pytest.fixture(scope="module")
def shared_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("dropin-src")
    (root / "one.txt").write_text("one")
    (root / "two.txt").write_text("two")
    (root / "folder" / "sub").mkdir(parents=True)
    (root / "folder" / "a.txt").write_text("A")
    (root / "folder" / "sub" / "b.txt").write_text("B")
    return root


def _ctx(sandbox: Any, version: str, tmp: Path, shared: Path, month: int) -> SimpleNamespace:
    tmp.mkdir(parents=True)
    return SimpleNamespace(
        endpoint=sandbox.endpoint,
        version=version,
        fresh="f" + uuid.uuid4().hex[:10],
        tmp=tmp,
        shared=shared,
        backfill_range=(datetime(2024, month, 1), datetime(2024, month, 4)),
    )


def run_both(name: str, sandbox: Any, version: str, tmp_path: Path, shared: Path) -> tuple[Any, Any]:
    """The script's observations with flytekit's FlyteRemote, then with ours."""
    from flytekit.remote import FlyteRemote as FlytekitRemote

    from airflow_provider_flyte.remote import FlyteRemote as OurRemote

    script = scripts.SCRIPTS[name]
    theirs = script(FlytekitRemote, _ctx(sandbox, version, tmp_path / "flytekit", shared, 1))
    mine = script(OurRemote, _ctx(sandbox, version, tmp_path / "ours", shared, 2))
    return theirs, mine


@pytest.mark.parametrize("name", list(scripts.SCRIPTS))
def test_same_script_same_results(
    name: str, flytekit_sandbox: Any, registered: str, tmp_path: Path, shared_files: Path
) -> None:
    theirs, mine = run_both(name, flytekit_sandbox, registered, tmp_path, shared_files)
    assert mine == theirs
    assert theirs, f"script {name} observed nothing"


def test_backfill_version_equals_flytekits(fk_remote: Any, flytekit_sandbox: Any, registered: str) -> None:
    """For the same inputs our backfill workflow gets flytekit's version (and its name)."""
    from airflow_provider_flyte.remote import Config, FlyteRemote

    start, end = datetime(2024, 3, 1), datetime(2024, 3, 5)
    fk_wf = fk_remote.launch_backfill(P, D, start, end, "dropin_daily", launchplan_version=registered, execute=False)
    with FlyteRemote(Config.for_sandbox(flytekit_sandbox.endpoint), P, D) as ours:
        spec = ours.launch_backfill(P, D, start, end, "dropin_daily", launchplan_version=registered, dry_run=True)
    assert (spec.template.id.name, spec.template.id.version) == (fk_wf.id.name, fk_wf.id.version)
    assert len(spec.template.nodes) == 3  # ticks on March 2, 3 and 4


@pytest.fixture()
def ours_only(flytekit_sandbox: Any) -> Iterator[Any]:
    from airflow_provider_flyte.remote import Config, FlyteRemote

    with FlyteRemote(Config.for_sandbox(flytekit_sandbox.endpoint), P, D) as remote:
        yield remote


def test_outputs_compare_equal_to_a_dict(ours_only: Any, registered: str) -> None:
    """Beyond flytekit (whose resolver compares its literal models): ours equals the dict of its values."""
    lp = ours_only.fetch_launch_plan(name=f"{scripts.WF}.simple_wf", version=registered)
    execution = ours_only.execute(lp, inputs={"x": 1, "name": "eq"}, wait=True)
    assert execution.outputs == {"o0": 2, "o1": "hello eq"}
    assert execution.outputs != {"o0": 3, "o1": "hello eq"} and execution.outputs != {"o0": 2}


def test_default_launch_plan_false_is_honoured(ours_only: Any) -> None:
    """A deliberate difference: flytekit 1.16's register_workflow(default_launch_plan=False) still creates the
    default launch plan (its _serialize_and_register does not pass the flag on for workflows); ours does not."""
    from flytekit.configuration import ImageConfig, SerializationSettings

    from airflow_provider_flyte.remote.errors import FlyteEntityNotFoundError
    from tests.conformance.dropin_workflows import point_wf

    version = "n" + uuid.uuid4().hex[:10]
    settings = SerializationSettings(image_config=ImageConfig.auto_default_image(), project=P, domain=D, version=version)
    wf = ours_only.register_workflow(point_wf, settings, version, default_launch_plan=False)
    assert (wf.id.name, wf.id.version) == (point_wf.name, version)
    with pytest.raises(FlyteEntityNotFoundError):
        ours_only.fetch_launch_plan(name=point_wf.name, version=version)
