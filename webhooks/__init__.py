"""The Flask shell: ``create_app(services)`` registers the blueprints and nothing else.

All logic lives in ``connector``; these modules turn HTTP into calls on it and back. The running
``connector.services.Services`` is kept in ``app.extensions["ordercare"]``.
"""

from __future__ import annotations

import importlib

from flask import Flask

from connector.services import Services

# each module holds a Blueprint named ``bp``
BLUEPRINTS = (
    "webhooks.webhook_routes",
    "webhooks.carrier_routes",
    "webhooks.health",
    "webhooks.shopify_install",
    "webhooks.shopify_embedded",
    "webhooks.woocommerce_connect",
    "webhooks.fix",
    "webhooks.stock",
    "webhooks.tracking",
    "webhooks.report",
    "webhooks.admin",
)


def create_app(services: Services) -> Flask:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=services.settings.secret_key,
        MAX_CONTENT_LENGTH=None,  # the webhook route enforces its own limit with a clear 413
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=services.settings.public_url.startswith("https://"),
    )
    app.extensions["ordercare"] = services
    for module_name in BLUEPRINTS:
        app.register_blueprint(importlib.import_module(module_name).bp)
    return app
