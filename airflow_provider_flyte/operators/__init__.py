"""Flyte operators for Airflow."""
