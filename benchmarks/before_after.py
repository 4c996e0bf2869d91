"""Issue 13's figures, before and after, in one run: every benchmark once on an older commit and once on this
checkout, interleaved (before, after) so that both see the same machine, with flytekit and the floor alongside.

    python benchmarks/before_after.py [--before 4d58c47] [--quick] [--out results.json]

*Before* is ``git archive <commit> airflow_provider_flyte`` unpacked into a temporary directory and put first on
``PYTHONPATH``; *after* is this checkout. Both run this checkout's benchmark scripts (the same harness), each in
a fresh interpreter with its own sandbox process:

* ``bench_codec.py``: the literal codec, both directions, against the protobuf floor and flytekit's TypeEngine
  (the same code in both processes: the best of the two runs is shown, and both ratios are to that floor);
* ``bench_airflow.py --skip-imports --triggers 5000 10000``: N deferred execution triggers in one event loop (the
  floor, bare ``ListExecutions`` calls, and flytekit's ``fetch_execution`` per trigger, in the after run);
* ``bench_flytekit_tasks.py``: a trivial flytekit ``@task`` in the sandbox (before: the cold ``pyflyte-execute``
  path, the only one; after: cold and warm);
* ``bench_wait.py``: ``wait()`` on 1 s and 10 s executions (flytekit's ``FlyteRemote.wait`` on the 1 s one).

Prints markdown tables (what ``docs/benchmarks.md`` shows) and, with ``--out``, writes the raw results as JSON.
``--quick`` shrinks every benchmark to check the harness in a few minutes (the figures then mean little).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "benchmarks"


def export_package(commit: str, into: Path) -> Path:
    """``airflow_provider_flyte`` as it was at ``commit``, unpacked under ``into``; returns ``into``."""
    archive = into / "before.tar"
    with archive.open("wb") as out:
        subprocess.run(["git", "archive", commit, "airflow_provider_flyte"], cwd=REPO, stdout=out, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    archive.unlink()
    return into


def run_bench(script: str, args: list[str], code: Path | None, log: Path) -> list[Any]:
    """Run ``benchmarks/<script> --json <args>`` in a fresh interpreter (``code`` first on ``PYTHONPATH``, or this
    checkout) from an empty working directory; returns the JSON values it printed, one per line."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "AIRFLOW_HOME", "AIRFLOW_CONN_FLYTE_DEFAULT")
    }
    if code is not None:
        env["PYTHONPATH"] = str(code)
    command = [sys.executable, str(BENCH / script), "--json", *args]
    with tempfile.TemporaryDirectory(prefix="bench-cwd-") as cwd:
        started = time.monotonic()
        done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    with log.open("a") as out:
        out.write(f"$ {'PYTHONPATH=' + str(code) + ' ' if code else ''}{' '.join(command)}\n")
        out.write(
            f"# exit {done.returncode} after {time.monotonic() - started:.0f} s\n{done.stdout}\n{done.stderr}\n"
        )
    if done.returncode != 0:
        raise SystemExit(
            f"{script} failed (exit {done.returncode}); its output is in {log}:\n{done.stderr[-2000:]}"
        )
    return [json.loads(line) for line in done.stdout.splitlines() if line[:1] in ("[", "{")]


def _verify(code: Path | None) -> str:
    """Where ``airflow_provider_flyte`` is imported from with this ``PYTHONPATH`` (proves which code ran)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if code is not None:
        env["PYTHONPATH"] = str(code)
    with tempfile.TemporaryDirectory() as cwd:
        out = subprocess.run(
            [sys.executable, "-c", "import airflow_provider_flyte as p; print(p.__file__)"],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
    return out.stdout.strip()


# ---------------------------------------------------------------------------------------------------- tables


def _x(value: float) -> str:
    return f"{value:.2f}x"


def codec_table(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> list[str]:
    """The floor and flytekit are the same code in both processes: each is shown as the best of the two runs, and
    both sides' ratios are to that floor."""
    lines = [
        "| case | direction | before | after | floor | flytekit TypeEngine | before / floor | after / floor | target "
        "| flytekit / after |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for b, a in zip(before, after, strict=True):
        ours_b, ours_a = b["ours"][0], a["ours"][0]
        floor = min(b["floor"][0], a["floor"][0])
        fks = [r["flytekit"][0] for r in (b, a) if r.get("flytekit")]
        fk, speedup = (f"{min(fks):.3f}", f"{min(fks) / ours_a:.0f}x") if fks else ("-", "-")
        lines.append(
            f"| `{a['case']}` | {a['direction']} | {ours_b:.4f} | {ours_a:.4f} | {floor:.4f} | {fk} | "
            f"{_x(ours_b / floor)} | {_x(ours_a / floor)} | <= {a['target']:.1f}x | {speedup} |"
        )
    return lines


def trigger_table(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> list[str]:
    def per_round(r: dict[str, Any], key: str) -> float:
        return float(r[key]) / max(int(r["rounds"]), 1)

    lines = [
        "| measure | N | before | after | floor | flytekit `FlyteRemote` | target |",
        "|---|---|---|---|---|---|---|",
    ]
    for b, a in zip(before, after, strict=True):
        n = a["n"]
        floor_cpu = f"{a['floor_cpu'] * 1000:.1f} ms (ListExecutions alone)" if "floor_cpu" in a else ""
        fk_rpcs = f"{a['flytekit_rpcs']:,.0f} GetExecution" if "flytekit_rpcs" in a else ""
        fk_cpu = (
            f"{a['flytekit_cpu']:.2f} s ({a['flytekit_wall']:.1f} s wall per poll)"
            if "flytekit_cpu" in a
            else ""
        )
        big = n >= 5000
        rows: list[tuple[str, Callable[[dict[str, Any]], str], str, str, str]] = [
            (
                "RPCs per interval, all running",
                lambda r: f"{per_round(r, 'rpcs'):.1f}",
                f"{-(-n // 2000)} (2,000 names per call)",
                fk_rpcs,
                "<= 10" if big else "",
            ),
            (
                "RPCs in the busiest interval (ends, progress logs)",
                lambda r: f"{r['max_rpcs_per_interval']}",
                "",
                "",
                "<= 10" if n == 5000 else "",
            ),
            (
                "client CPU per round (event-loop thread)",
                lambda r: f"{per_round(r, 'cpu') * 1000:.1f} ms ({per_round(r, 'thread_cpu') * 1000:.1f})",
                floor_cpu,
                fk_cpu,
                "<= 30 ms" if n == 5000 else "",
            ),
            (
                "execution end -> event p50 / p99 / max",
                lambda r: f"{r['latency_p50']:.2f} / {r['latency_p99']:.2f} / {r['latency_max']:.2f} s",
                "",
                "",
                f"p99 <= {2 * a['poll_interval']:g} s" if n == 5000 else "",
            ),
            ("memory per trigger", lambda r: f"{r['per_trigger'] / 1024:.1f} KB", "", "", "< 50 KB"),
            (
                "events correct (steady rounds measured)",
                lambda r: (
                    f"{'all' if r['all_correct'] else 'NOT ALL'} ({r['rounds']}{'' if r['steady'] else ', NOT steady'})"
                ),
                "",
                "",
                "all",
            ),
        ]
        for label, show, floor, fk, target in rows:
            lines.append(f"| {label} | {n:,} | {show(b)} | {show(a)} | {floor} | {fk} | {target} |")
    return lines


def tasks_table(before: dict[str, Any], after: dict[str, Any], executions: int) -> list[str]:
    rows = [
        (
            f"tasks/s, {executions} created at once (first create -> last SUCCEEDED)",
            "throughput",
            "{:.2f}",
            ">= 10",
        ),
        (f"p50 create -> SUCCEEDED, {executions} at once", "p50", "{:.2f} s", ""),
        (f"p99 create -> SUCCEEDED, {executions} at once", "p99", "{:.2f} s", ""),
        ("p50 create -> SUCCEEDED, one execution at a time", "seq_p50", "{:.3f} s", "<= 0.5 s"),
        ("executions SUCCEEDED", "ok", "{:.0f}", "all"),
    ]
    lines = [
        "| measure | before (cold `pyflyte-execute`, the only path) | after, `--task-workers cold` "
        "| after, `warm` (default) | target |",
        "|---|---|---|---|---|",
    ]
    for label, key, fmt, target in rows:
        values = (fmt.format(r[key]) for r in (before["cold"], after["cold"], after["warm"]))
        lines.append(f"| {label} | {' | '.join(values)} | {target} |")
    return lines


def wait_table(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| execution runs | measure | before | after | flytekit `FlyteRemote.wait` (30 s polls) | target |",
        "|---|---|---|---|---|---|",
    ]

    def polls(r: dict[str, Any]) -> str:
        return f"{r['get_execution']:g} ({r['rpcs']:g})"

    for b, a in zip(before, after, strict=True):
        fk = a.get("flytekit")
        secs = f"{a['seconds']:g} s"
        target = "<= 6" if a["seconds"] == 1 else ""
        lines.append(
            f"| {secs} | `GetExecution` calls (all RPCs) | {polls(b['ours'])} | {polls(a['ours'])} | "
            f"{polls(fk) if fk else ''} | {target} |"
        )
        late = f"{fk['late']:.1f} s" if fk else ""
        lines.append(
            f"| {secs} | end -> `wait` returned | {b['ours']['late']:.2f} s | {a['ours']['late']:.2f} s | {late} | |"
        )
    return lines


# ------------------------------------------------------------------------------------------------------ main


def measure(before: str, quick: bool) -> dict[str, Any]:
    """Run every benchmark on ``before`` and on this checkout, interleaved; the raw results."""
    q = quick
    executions = 6 if q else 50
    plan: list[tuple[str, str, list[str], list[str]]] = [
        # name, script, arguments before, arguments after
        (
            # flytekit runs in both codec processes: both have the same modules loaded and memory in use
            "codec",
            "bench_codec.py",
            ["--runs", "3" if q else "11"],
            ["--runs", "3" if q else "11"],
        ),
        (
            "wait",
            "bench_wait.py",
            ["--runs", "1" if q else "3", "--no-flytekit"],
            ["--runs", "1" if q else "3", *(["--no-flytekit"] if q else [])],
        ),
        (
            "flytekit_tasks",
            "bench_flytekit_tasks.py",
            ["--executions", str(executions), "--sequential", "2" if q else "10", "--modes", "cold"],
            ["--executions", str(executions), "--sequential", "2" if q else "10", "--modes", "cold", "warm"],
        ),
        (
            "triggers",
            "bench_airflow.py",
            ["--skip-imports", "--triggers", *(["300"] if q else ["5000", "10000"])],
            ["--skip-imports", "--compare", "--triggers", *(["300"] if q else ["5000", "10000"])],
        ),
    ]
    started = datetime.datetime.now(datetime.UTC)
    results: dict[str, Any] = {"before_commit": before, "started": started.isoformat(), "load": {}}
    with tempfile.TemporaryDirectory(prefix="bench-before-") as tmp:
        before_code = export_package(before, Path(tmp))
        results["code"] = {"before": _verify(before_code), "after": _verify(None)}
        log = Path(tmp).parent / f"before-after-{started:%Y%m%dT%H%M%S}.log"
        print(
            f"before: {results['code']['before']}\nafter:  {results['code']['after']}\nlog:    {log}",
            flush=True,
        )
        for name, script, before_args, after_args in plan:
            for side, code, extra in (("before", before_code, before_args), ("after", None, after_args)):
                load = os.getloadavg()[0]
                t0 = time.monotonic()
                values = run_bench(script, extra, code, log)
                results.setdefault(name, {})[side] = values if name == "triggers" else values[0]
                results["load"][f"{name} {side}"] = load
                print(
                    f"{name:<15} {side:<6} {time.monotonic() - t0:6.0f} s  (load average {load:.2f} at start)",
                    flush=True,
                )
    results["ended"] = datetime.datetime.now(datetime.UTC).isoformat()
    results["executions"] = executions
    return results


def render(results: dict[str, Any]) -> str:
    """The markdown tables of ``results`` (what ``docs/benchmarks.md`` shows)."""
    started = datetime.datetime.fromisoformat(results["started"])
    ended = datetime.datetime.fromisoformat(results["ended"])
    load = results["load"].values()
    out = [
        f"One run, {started:%Y-%m-%d %H:%M}-{ended:%H:%M} UTC, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}; before = {results['before_commit']}, after = this checkout; load average at "
        f"each step's start {min(load):.2f}-{max(load):.2f}\n"
    ]
    sections = [
        (
            "Literal codec, seconds, best of runs",
            codec_table(results["codec"]["before"], results["codec"]["after"]),
        ),
        (
            "Triggers in one event loop",
            trigger_table(results["triggers"]["before"], results["triggers"]["after"]),
        ),
        (
            "flytekit tasks in the sandbox",
            tasks_table(
                results["flytekit_tasks"]["before"], results["flytekit_tasks"]["after"], results["executions"]
            ),
        ),
        ("wait()", wait_table(results["wait"]["before"], results["wait"]["after"])),
    ]
    for title, lines in sections:
        out.append(f"### {title}\n\n" + "\n".join(lines) + "\n")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--before", default="4d58c47", help="the commit measured as before (default: issue 13's start)"
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, to check the harness")
    parser.add_argument("--out", type=Path, help="write the raw results here as JSON")
    parser.add_argument(
        "--render", type=Path, metavar="RESULTS", help="print the tables of saved results, run nothing"
    )
    args = parser.parse_args()
    if args.render:
        print(render(json.loads(args.render.read_text())))
        return
    results = measure(args.before, args.quick)
    if args.out:
        args.out.write_text(json.dumps(results, indent=1))
    print("\n" + render(results))


if __name__ == "__main__":
    main()
