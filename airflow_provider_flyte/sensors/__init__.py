"""Flyte sensors for Airflow."""
