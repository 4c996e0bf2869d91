"""Local pieces of file transfer and backfill: deterministic bundles, hashing, backfill workflow building."""

from __future__ import annotations

import gzip
import hashlib
import tarfile
from datetime import datetime
from pathlib import Path

import pytest
from flyteidl.admin import launch_plan_pb2, schedule_pb2
from flyteidl.core import identifier_pb2

from airflow_provider_flyte.remote import specs
from airflow_provider_flyte.remote.backfill import backfill_dates, backfill_version, build_backfill_workflow
from airflow_provider_flyte.remote.errors import FlyteInvalidInputError
from airflow_provider_flyte.remote.files import build_fast_package, hash_file
from airflow_provider_flyte.remote.models import FlyteLaunchPlan


def _tree(root: Path) -> None:
    (root / "pkg" / "__pycache__").mkdir(parents=True)
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "mod.py").write_text("X = 1\n")
    (root / "pkg" / "__pycache__" / "mod.cpython-311.pyc").write_bytes(b"junk")
    (root / "README.md").write_text("hi\n")


def test_fast_package_is_deterministic_and_skips_caches(tmp_path: Path) -> None:
    _tree(tmp_path / "a")
    _tree(tmp_path / "b")
    first = build_fast_package(tmp_path / "a", tmp_path / "out1")
    second = build_fast_package(tmp_path / "b", tmp_path / "out2")
    assert first.name == second.name and first.name.startswith("fast") and first.name.endswith(".tar.gz")
    assert first.read_bytes() == second.read_bytes()  # same tree -> same bytes (mtime 0, sorted, no owners)
    with gzip.open(first) as gz:
        assert gz.read(1)
    with tarfile.open(first) as tar:
        names = tar.getnames()
        assert names == sorted(names)
        assert "pkg/mod.py" in names and not any("__pycache__" in n for n in names)
        assert all(m.mtime == 0 and m.uid == 0 and m.uname == "" for m in tar.getmembers())
    (tmp_path / "b" / "pkg" / "mod.py").write_text("X = 2\n")
    assert build_fast_package(tmp_path / "b", tmp_path / "out3").name != first.name
    with pytest.raises(FlyteInvalidInputError, match="needs a directory"):
        build_fast_package(tmp_path / "a" / "README.md")


def test_hash_file(tmp_path: Path) -> None:
    f = tmp_path / "f.bin"
    f.write_bytes(b"x" * 3_000_000)
    digest, size = hash_file(f)
    assert digest == hashlib.md5(b"x" * 3_000_000).digest() and size == 3_000_000


def _lp(schedule: schedule_pb2.Schedule | None, name: str = "nightly") -> FlyteLaunchPlan:
    wf = specs.identifier("WORKFLOW", "p", "d", "wf", "v1")
    spec = specs.launch_plan_spec(wf, schedule=schedule)
    lp_id = specs.identifier("LAUNCH_PLAN", "p", "d", name, "v1")
    return FlyteLaunchPlan(launch_plan_pb2.LaunchPlan(id=lp_id, spec=spec))


def _cron(expr: str, kickoff: str = "t") -> schedule_pb2.Schedule:
    return schedule_pb2.Schedule(
        cron_schedule=schedule_pb2.CronSchedule(schedule=expr), kickoff_time_input_arg=kickoff
    )


def test_backfill_dates_are_cron_ticks_in_a_half_open_range() -> None:
    dates = backfill_dates("0 0 * * *", datetime(2024, 1, 1), datetime(2024, 1, 4))
    assert dates == [datetime(2024, 1, 2), datetime(2024, 1, 3)]
    with pytest.raises(FlyteInvalidInputError, match="must be before"):
        backfill_dates("0 0 * * *", datetime(2024, 1, 4), datetime(2024, 1, 1))


def test_serial_backfill_workflow() -> None:
    spec, dates = build_backfill_workflow(
        _lp(_cron("0 */6 * * *")),
        datetime(2024, 1, 1),
        datetime(2024, 1, 2),
        project="p",
        domain="d",
        version="v",
    )
    template = spec.template
    assert template.id.name == "backfill-nightly" and template.id.resource_type == identifier_pb2.WORKFLOW
    assert [n.id for n in template.nodes] == ["n0", "n1", "n2"]
    assert [n.metadata.name for n in template.nodes] == [f"b-{d}" for d in dates]
    assert [list(n.upstream_node_ids) for n in template.nodes] == [[], ["n0"], ["n1"]]
    first = template.nodes[0]
    assert first.workflow_node.launchplan_ref.name == "nightly"
    assert first.inputs[0].var == "t"
    assert first.inputs[0].binding.scalar.primitive.datetime.ToDatetime() == datetime(2024, 1, 1, 6)


def test_parallel_backfill_and_failure_policy() -> None:
    spec, _ = build_backfill_workflow(
        _lp(_cron("0 0 * * *", kickoff="")),
        datetime(2024, 1, 1),
        datetime(2024, 1, 5),
        project="p",
        domain="d",
        version="v",
        parallel=True,
        failure_policy="FAIL_AFTER_EXECUTABLE_NODES_COMPLETE",
    )
    assert all(not n.upstream_node_ids and not n.inputs for n in spec.template.nodes)
    assert spec.template.metadata.on_failure == 1


def test_backfill_needs_a_cron_schedule() -> None:
    with pytest.raises(FlyteInvalidInputError, match="scheduled launch plans"):
        build_backfill_workflow(
            _lp(None), datetime(2024, 1, 1), datetime(2024, 1, 2), project="p", domain="d", version="v"
        )
    rate = schedule_pb2.Schedule(rate=schedule_pb2.FixedRate(value=1, unit=schedule_pb2.DAY))
    with pytest.raises(FlyteInvalidInputError, match="only supports cron"):
        build_backfill_workflow(
            _lp(rate), datetime(2024, 1, 1), datetime(2024, 1, 2), project="p", domain="d", version="v"
        )


def test_backfill_version_is_deterministic() -> None:
    a = backfill_version(datetime(2024, 1, 1), datetime(2024, 1, 2), "lp", None)
    assert a == backfill_version(datetime(2024, 1, 1), datetime(2024, 1, 2), "lp", None)
    assert a != backfill_version(datetime(2024, 1, 1), datetime(2024, 1, 3), "lp", None)
