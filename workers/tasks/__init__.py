"""The thin Celery tasks, one module per capability, and the house decorator (base.py) they go through."""
