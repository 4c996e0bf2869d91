#!/usr/bin/env bash
# Run the provider's dag.test() suite on Airflow 2.11.2 (pinned by constraints/constraints-airflow-2.11-3.11.txt),
# in its own virtualenv (.venv-af2), against the embedded sandbox.
set -euo pipefail
cd "$(dirname "$0")/.."
AF2_VENV="${AF2_VENV:-$PWD/.venv-af2}" exec bash tests/airflow/run_airflow2.sh "$@"
