"""The module Celery loads its configuration from (lazily, on first use of app.conf).

Raises ConfigError with one clear line when a setting is missing or malformed."""

from workers.app.config import build_config
from workers.settings import get_settings

globals().update(build_config(get_settings()))
