"""One message as the customer got it (subject, text and the HTML, in a sandboxed frame); an address incident's
address as typed and as corrected.

The HTML never becomes part of the dashboard page: it goes, escaped, into the ``srcdoc`` of an
``<iframe sandbox="">`` (no scripts, no forms, an origin of its own), and the page's Content-Security-Policy
forbids scripts, which the frame inherits. A message of a shop the viewer lacks is a 404.
"""

from __future__ import annotations

from flask import abort, render_template
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response

from connector.address import change
from connector.admin.queries import order_in_scope
from connector.notify import sent
from connector.privacy import REDACTED
from webhooks.admin import bp
from webhooks.admin.common import services, viewer

# the frame inherits this (a srcdoc document shares the page's policy): inline styles for the e-mail's own
# look, images only from here or inline, nothing that runs
MESSAGE_POLICY = (
    "default-src 'none'; script-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


@bp.context_processor
def _template_helpers() -> dict[str, object]:
    return {"address_change": change.read}  # an address incident: as typed and as corrected


@bp.get("/messages/<int:message_id>")
def message(message_id: int) -> ResponseReturnValue:
    shop_ids = viewer().shop_ids
    with services().sessions() as db:
        view = sent.for_staff(db, shop_ids, message_id)
        if view is None:
            abort(404)
        order = order_in_scope(db, shop_ids, view.log.order_id) if view.log.order_id is not None else None
        db.expunge_all()
    erased = view.body is None and view.log.subject == REDACTED
    page = render_template(
        "admin/message.html",
        log=view.log,
        body=view.body,
        order=order,
        erased=erased,
        retention_days=services().settings.sent_message_retention_days,
    )
    response = Response(page, mimetype="text/html")
    response.headers["Content-Security-Policy"] = MESSAGE_POLICY
    return response
