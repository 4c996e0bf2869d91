#!/usr/bin/env bash
# Set up .venv, start the embedded Flyte sandbox, register the example workflows, run the example DAG
# (deferrable FlyteExecuteOperator under dag.test()) and print the Flyte execution's outputs.
# Options: --port N (sandbox gRPC port; default 30080 or $FLYTE_SANDBOX_PORT; a busy port is replaced by a free one)
#          --keep-running (keep the sandbox up afterwards to browse its web console; Ctrl-C stops it)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. .venv/bin/activate
exec python scripts/demo.py "$@"
