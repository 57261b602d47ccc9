"""The Celery app (workers.app.celery), its one configuration, the queues and task families."""
