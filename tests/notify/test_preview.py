"""``ordercare preview``: sample messages for merchants, including their own templates."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from connector.notify import preview
from connector.notify.render import TEMPLATES


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="ordercare preview")
    preview.add_arguments(parser)
    return preview.run(parser.parse_args(argv))


def test_dutch_delay_notice(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("delay_notice", "--locale", "nl", "--level", "2", "--voucher") == 0
    out = capsys.readouterr().out
    assert out.startswith(
        "Subject: Je pakket van bestelling #1001 is nog steeds onderweg\n\n"
        "Hoi Sanne,\n\n"
        "Je pakket met bestelling #1001 (2× Fietsbel messing en Bidonhouder) is al een paar dagen niet gescand "
        "door PostNL, dus we weten niet precies waar het is. Een betrouwbare nieuwe datum kunnen we je nog niet "
        "geven. Uiterlijk vrijdag 27 november hoor je van ons.\n"
    )
    assert "OC-7KQ2M9 (10% korting, geldig tot en met 22 februari 2027)" in out
    assert out.endswith("Hartelijke groet,\nFietsenwinkel\n")


@pytest.mark.parametrize("template", TEMPLATES)
@pytest.mark.parametrize("locale", ["nl", "en"])
def test_every_message_previews(capsys: pytest.CaptureFixture[str], template: str, locale: str) -> None:
    assert run(template, "--locale", locale) == 0
    assert capsys.readouterr().out.startswith("Subject: ")
    assert run(template, "--locale", locale, "--html") == 0
    assert capsys.readouterr().out.startswith(f'<!DOCTYPE html>\n<html lang="{locale}">')


def test_own_templates_and_their_mistakes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "nl").mkdir()
    (tmp_path / "nl" / "_signature.txt").write_text("Groet van Piet\n", encoding="utf-8")
    assert run("stale_update", "--templates-dir", str(tmp_path)) == 0
    assert capsys.readouterr().out.endswith("Groet van Piet\n")

    (tmp_path / "nl" / "_signature.txt").write_text("{{ shop_naam }}\n", encoding="utf-8")
    assert run("stale_update", "--templates-dir", str(tmp_path)) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: cannot render stale_update (nl): UndefinedError: 'shop_naam' is undefined")


SHOP_CONFIG = """
database_url: "sqlite:///:memory:"
secret_key: test-secret-key-0123456789abcdef
email: {smtp_host: 127.0.0.1, sender: "Klantenservice <service@fietsenwinkel.example.nl>",
        reply_to: "help@fietsenwinkel.example.nl"}
shops:
  - {id: fietsen, platform: shopify, shop_domain: fietsen-test.myshopify.com, access_token: shpat_x,
     webhook_secret: s1, name: Fietsenwinkel}
  - id: theewinkel
    platform: woocommerce
    url: https://theewinkel.example.nl
    consumer_key: ck_x
    consumer_secret: cs_x
    webhook_secret: s2
    name: De Theewinkel
    locale: en
    sender: "De Theewinkel <hallo@theewinkel.example.nl>"
    signature: "Warm regards,\\nFleur of De Theewinkel"
    policies:
      review: {consent: existing_customer, link: "https://www.kiyoh.com/theewinkel?order={order_number}"}
"""


@pytest.fixture
def shop_config(tmp_path: Path) -> Path:
    path = tmp_path / "ordercare.yaml"
    path.write_text(SHOP_CONFIG, encoding="utf-8")
    return path


def test_a_shop_preview_shows_what_its_customers_get(shop_config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("--shop", "theewinkel", "--template", "review_request", "--config", str(shop_config)) == 0
    out = capsys.readouterr().out
    assert out.startswith(
        "From: De Theewinkel <hallo@theewinkel.example.nl>\nSubject: How do you like your order #1001?\n\nHi Sanne,\n\n"
    )  # its own sender, no reply-to of another shop, in the shop's language
    assert "https://www.kiyoh.com/theewinkel?order=1001" in out
    assert "You receive this e-mail because you recently ordered from De Theewinkel." in out
    assert "\n\nWarm regards,\nFleur of De Theewinkel\n" in out


def test_a_shop_preview_without_its_own_voice_uses_the_global_sender(
    shop_config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("--shop", "fietsen", "--template", "promise_followup", "--config", str(shop_config)) == 0
    assert capsys.readouterr().out.startswith(
        "From: Klantenservice <service@fietsenwinkel.example.nl>\n"
        "Reply-To: help@fietsenwinkel.example.nl\n"
        "Subject: Bestelling #1001 is nog niet bezorgd\n\n"
    )


def test_a_shop_preview_to_html_files(shop_config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "previews"
    assert run("--shop", "theewinkel", "--config", str(shop_config), "--out", str(out), "--locale", "nl") == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{t}.nl.html" for t in TEMPLATES)
    review = (out / "review_request.nl.html").read_text(encoding="utf-8")
    assert 'href="https://www.kiyoh.com/theewinkel?order=1001"' in review
    assert "Fleur of De Theewinkel" in review


def test_an_unknown_shop_is_named_and_nothing_is_written(
    shop_config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "previews"
    assert run("--shop", "bakker", "--config", str(shop_config), "--out", str(out)) == 2
    assert capsys.readouterr().err == (
        "error: --shop: no shop 'bakker' in the configuration (shops: fietsen, theewinkel)\n"
    )
    assert not out.exists()
