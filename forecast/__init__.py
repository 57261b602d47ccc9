"""Budgets, forecasts and alerts, the pure part (issue 17): no SQL, no Celery, no HTTP."""
