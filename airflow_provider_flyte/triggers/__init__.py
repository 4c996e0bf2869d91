"""Flyte triggers for Airflow."""
