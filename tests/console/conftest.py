"""The console tests import the example registry (``example_dags/flyte_examples_registry.py``)."""

from __future__ import annotations

import sys
from pathlib import Path

EXAMPLE_DAGS = Path(__file__).resolve().parents[2] / "example_dags"
if str(EXAMPLE_DAGS) not in sys.path:
    sys.path.insert(0, str(EXAMPLE_DAGS))
