"""``python -m airflow_provider_flyte.sandbox``: same as the ``flyte-sandbox`` command."""

import sys

from airflow_provider_flyte.sandbox.cli import main

if __name__ == "__main__":
    sys.exit(main())
