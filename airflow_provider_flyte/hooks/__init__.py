"""Airflow hooks for Flyte."""
