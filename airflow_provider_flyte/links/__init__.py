"""Airflow extra links for Flyte."""
