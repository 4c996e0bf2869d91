#!/usr/bin/env bash
# Set up .venv, then run ruff, mypy --strict and the whole test suite (sandbox, client, Airflow dag.test() and
# the real `airflow standalone` suite). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. .venv/bin/activate
echo "== ruff"; ruff check airflow_provider_flyte tests example_dags benchmarks
echo "== mypy --strict"; mypy
echo "== pytest"; python -m pytest -q -p no:cacheprovider "$@"
