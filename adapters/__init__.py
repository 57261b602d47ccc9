"""The layer that talks to the outside world on a customer's behalf: checked destinations, signed webhooks,
Slack messages. Beside store/ (which talks to Postgres); nothing here imports Celery or the database.
"""
