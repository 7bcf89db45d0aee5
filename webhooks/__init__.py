"""The Flask shell: ``create_app(services)`` registers the blueprints and nothing else.

All logic lives in ``connector``; these modules turn HTTP into calls on it and back. The running
``connector.services.Services`` is kept in ``app.extensions["ordercare"]``.
"""

from __future__ import annotations

import importlib
import logging

from flask import Flask

from connector.services import Services

log = logging.getLogger(__name__)

# module -> attribute holding its Blueprint; optional modules are skipped until they exist
BLUEPRINTS: dict[str, bool] = {
    "webhooks.webhook_routes": True,
    "webhooks.health": True,
    "webhooks.shopify_install": False,
    "webhooks.woocommerce_connect": False,
    "webhooks.fix": False,
    "webhooks.admin": False,
}


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
    for module_name, required in BLUEPRINTS.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if required or exc.name != module_name:
                raise
            log.debug("optional blueprint %s not installed", module_name)
            continue
        blueprint = getattr(module, "bp", None)
        if blueprint is None:
            if required:
                raise RuntimeError(f"{module_name} has no Blueprint named bp")
            continue
        app.register_blueprint(blueprint)
    return app


def services_of(app: Flask) -> Services:
    services: Services = app.extensions["ordercare"]
    return services
