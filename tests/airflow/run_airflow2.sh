#!/usr/bin/env bash
# Run the dag.test() suite of tests/airflow on Airflow 2.11 (the provider supports 2.11 through
# apache-airflow-providers-common-compat). Creates a separate venv (default /tmp/airflow2-venv), installs
# Airflow 2.11 and a copy of this repository into it (the repository itself is not touched), then runs
#   pytest tests/airflow -m "not standalone and not slow"
# Usage: tests/airflow/run_airflow2.sh [extra pytest args]     (env: AF2_VENV, AF2_PYTHON, AF2_VERSION)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="${AF2_VENV:-/tmp/airflow2-venv}"
PYTHON="${AF2_PYTHON:-python3.11}"
VERSION="${AF2_VERSION:-2.11.2}"
WORK="$(mktemp -d /tmp/airflow2-run.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT

if [[ ! -x "$VENV/bin/python" ]]; then
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/pip" install -q -c "$REPO/constraints/constraints-airflow-2.11-3.11.txt" "apache-airflow==${VERSION}" \
    "apache-airflow-providers-common-compat>=1.10" pytest pytest-asyncio pytest-timeout jsonschema
fi

# install a copy, so pip's in-tree build leaves the repository alone
mkdir -p "$WORK/src"
(cd "$REPO" && tar --exclude=./.venv --exclude=./.venv-af2 --exclude=./test-artifacts --exclude=./.git --exclude='*.egg-info' --exclude=./build -cf - .) \
  | tar -xf - -C "$WORK/src"
"$VENV/bin/pip" install -q --force-reinstall --no-deps "$WORK/src"
# runtime dependencies of the provider that Airflow 2.11 does not already pull in
"$VENV/bin/pip" install -q -c "$REPO/constraints/constraints-airflow-2.11-3.11.txt" "flyteidl>=1.16.7,<2" "protobuf>=5.26,<8" "grpcio>=1.62" cloudpickle "fsspec>=2024.9.0" \
  msgpack croniter PyYAML

"$VENV/bin/python" -c "import airflow; print('Airflow', airflow.__version__)"
cd "$WORK/src"
exec "$VENV/bin/python" -m pytest tests/airflow -m "not standalone and not slow" -p no:cacheprovider -q "$@"
