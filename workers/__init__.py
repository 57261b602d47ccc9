"""The Celery app, settings, database pool, run jobs, thin tasks and the command line."""
