"""WSGI entry point for gunicorn: ``gunicorn -w 4 'webhooks.wsgi:app'`` with ORDERCARE_CONFIG set."""

from __future__ import annotations

import os

from connector import logs
from connector.config import load_settings
from connector.services import Services
from webhooks import create_app

_settings = load_settings(os.environ["ORDERCARE_CONFIG"])
logs.configure(_settings.log_level)
app = create_app(Services.build(_settings))
