"""flytekit tasks and workflows passing files, directories and datasets (run by the sandbox as task processes)."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from typing import Annotated

import pandas as pd
from flytekit import kwtypes, task, workflow
from flytekit.types.directory import FlyteDirectory
from flytekit.types.file import FlyteFile
from flytekit.types.structured import StructuredDataset

ColumnA = Annotated[StructuredDataset, kwtypes(a=int)]


@dataclass
class Bundle:
    f: FlyteFile
    d: FlyteDirectory
    sd: StructuredDataset
    n: int


@dataclass
class Summary:
    text: str
    names: list[str]
    columns: list[str]
    total: int


def _local_dir() -> str:
    return tempfile.mkdtemp(prefix="made-")


@task
def make_all(text: str) -> tuple[FlyteFile, FlyteDirectory, StructuredDataset, Bundle]:
    """A file, a directory and a dataset written by this task, as outputs and inside a dataclass."""
    root = _local_dir()
    path = os.path.join(root, "note.txt")
    with open(path, "w") as fh:
        fh.write(text)
    folder = os.path.join(root, "folder")
    os.makedirs(os.path.join(folder, "sub"))
    for rel, body in (("one.txt", "1"), ("sub/two.txt", "2")):
        with open(os.path.join(folder, rel), "w") as fh:
            fh.write(body)
    frame = pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]})
    sd = StructuredDataset(dataframe=frame)
    bundled = StructuredDataset(dataframe=frame.assign(a=frame.a * 10))
    return (
        FlyteFile(path),
        FlyteDirectory(folder),
        sd,
        Bundle(f=FlyteFile(path), d=FlyteDirectory(folder), sd=bundled, n=4),
    )


def _names(d: FlyteDirectory) -> list[str]:
    local = d.download()
    return sorted(
        os.path.relpath(os.path.join(dirpath, name), local)
        for dirpath, _, names in os.walk(local)
        for name in names
    )


@task
def consume(f: FlyteFile, d: FlyteDirectory, sd: ColumnA) -> Summary:
    """Reads the file with FlyteFile.open() (streamed), downloads the directory, opens the column subset."""
    with f.open("r") as fh:
        text = fh.read()
    frame = sd.open(pd.DataFrame).all()
    return Summary(text=text, names=_names(d), columns=list(frame.columns), total=int(frame["a"].sum()))


@task
def consume_bundle(b: Bundle) -> Summary:
    """The whole dataclass: its file, directory and dataset come in as remote references."""
    with open(b.f) as fh:  # os.fspath downloads the file
        text = fh.read()
    frame = b.sd.open(pd.DataFrame).all()
    return Summary(
        text=text, names=_names(b.d), columns=list(frame.columns), total=int(frame["a"].sum()) + b.n
    )


@task
def rewrite(f: FlyteFile, suffix: str) -> FlyteFile:
    """A new file derived from the input one (the input is downloaded, the output uploaded)."""
    out = os.path.join(_local_dir(), "rewritten.txt")
    with open(f) as src, open(out, "w") as dst:
        dst.write(src.read() + suffix)
    return FlyteFile(out)


@workflow
def pass_along_wf(
    text: str,
) -> tuple[Summary, Summary, Summary, FlyteFile, FlyteDirectory, StructuredDataset]:
    f, d, sd, b = make_all(text=text)
    direct = consume(f=f, d=d, sd=sd)
    by_attribute = consume(f=b.f, d=b.d, sd=b.sd)
    whole = consume_bundle(b=b)
    return direct, by_attribute, whole, rewrite(f=f, suffix="!"), d, sd


@workflow
def inputs_wf(f: FlyteFile, d: FlyteDirectory, sd: StructuredDataset) -> tuple[Summary, FlyteFile]:
    return consume(f=f, d=d, sd=sd), rewrite(f=f, suffix="?")


def write_note(text: str) -> str:
    """An in-process task of the sandbox (not flytekit): returns a local file it wrote, as a blob output."""
    path = os.path.join(_local_dir(), "inprocess.txt")
    with open(path, "w") as fh:
        fh.write(text)
    return path
