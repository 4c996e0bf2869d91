"""Apache Airflow provider for Flyte.

Importing this package is cheap: the Flyte client (``airflow_provider_flyte.remote``), the embedded sandbox
(``airflow_provider_flyte.sandbox``) and the Airflow layer load their heavy dependencies (grpc, flyteidl) lazily.
"""

__version__ = "0.1.0"
