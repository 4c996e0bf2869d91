#!/usr/bin/env bash
# Set up .venv, start the embedded Flyte sandbox, register the example workflows, run the example DAG
# (deferrable FlyteExecuteOperator under dag.test()) and print the Flyte execution's outputs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. .venv/bin/activate
exec python scripts/demo.py "$@"
