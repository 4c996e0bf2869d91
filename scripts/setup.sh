#!/usr/bin/env bash
# Create .venv (Python 3.11) and install the provider with its dev/test extras, pinned by the constraints file.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
. .venv/bin/activate
stamp=.venv/.installed-$(cat pyproject.toml constraints/constraints-3.11.txt | sha1sum | cut -c1-12)
if [ ! -f "$stamp" ]; then
  python -m pip install -q --upgrade pip
  python -m pip install -q -c constraints/constraints-3.11.txt -e ".[dev]"
  rm -f .venv/.installed-*
  touch "$stamp"
fi
