"""The dashboard's language: the shop's locale unless the viewer chose one, and that choice holds."""

from __future__ import annotations

from datetime import datetime

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from . import scenario
from .web import sign_in


@pytest.fixture
def world(session: Session, now: datetime) -> scenario.World:
    return scenario.build(session, now)


def test_a_dutch_shop_sees_a_dutch_dashboard_until_the_viewer_chooses_english(
    dutch_client: FlaskClient, world: scenario.World
) -> None:
    sign_in(dutch_client, "anna")
    page = dutch_client.get("/admin/").get_data(as_text=True)
    assert '<html lang="nl">' in page
    assert "Uitloggen" in page
    assert "Sign out" not in page
    english = dutch_client.get("/admin/?lang=en").get_data(as_text=True)
    assert '<html lang="en">' in english
    assert "Sign out" in english
    # the choice is kept for the next page
    assert '<html lang="en">' in dutch_client.get("/admin/").get_data(as_text=True)


def test_an_unknown_language_is_ignored(dutch_client: FlaskClient, world: scenario.World) -> None:
    sign_in(dutch_client, "anna")
    assert '<html lang="nl">' in dutch_client.get("/admin/?lang=fr").get_data(as_text=True)
