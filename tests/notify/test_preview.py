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
