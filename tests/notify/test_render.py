# ruff: noqa: E501  (the expected messages are kept as the customer reads them, one paragraph a line)
"""Every customer message renders in Dutch and English with exactly the expected words."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from connector.notify.render import TEMPLATES, ContextError, Renderer, normalise_locale

BASE: dict[str, Any] = {
    "shop_name": "Fietsenwinkel Één",
    "order_number": "#1001",
    "first_name": "Sanne",
    "items": [{"title": "Fietsbel", "quantity": 2}, {"title": "Café-racer stuurlint", "quantity": 1}],
}
VOUCHER = {"code": "OC-7KQ2M9", "kind": "percentage", "value": "10", "currency": "EUR", "ends_at": "2027-02-22"}
FIX_URL = "https://ordercare.example/fix/abc.def"

CASES: dict[tuple[str, str], dict[str, Any]] = {
    ("address_question", "nl"): {
        "problems": ["missing_house_number"],
        "fix_url": FIX_URL,
        "fix_expires_on": "2026-12-01",
        "address_lines": ["Hoofdstraat", "1234 AB Amsterdam"],
    },
    ("address_question", "en"): {
        "first_name": None,
        "problems": ["missing_street", "postcode_format"],
        "fix_url": FIX_URL,
        "fix_expires_on": "2026-12-01",
    },
    ("stale_update", "nl"): {"reason": "unshipped", "new_delivery_date": "2026-11-26"},
    ("stale_update", "en"): {"reason": "on_hold", "hear_from_us_by": "2026-11-27"},
    ("promise_followup", "nl"): {
        "promised_date": "2026-11-26",
        "promise_kind": "delivery_by",
        "shipped": True,
        "carrier": "PostNL",
        "tracking_url": "https://postnl.nl/tt/3SABC",
        "new_delivery_date": "2026-11-28",
    },
    ("promise_followup", "en"): {
        "promised_date": "2026-11-26",
        "promise_kind": "hear_from_us_by",
        "shipped": False,
        "hear_from_us_by": "2026-11-30",
    },
    ("next_day_missed", "nl"): {"new_delivery_date": "2026-11-25", "voucher": VOUCHER},
    ("next_day_missed", "en"): {"new_delivery_date": "2026-11-25", "voucher": None},
    ("delay_notice", "nl"): {
        "level": 1,
        "reason": "no_scan",
        "carrier": "PostNL",
        "tracking_url": "https://postnl.nl/tt/3SABC",
        "hear_from_us_by": "2026-11-27",
    },
    ("delay_notice", "en"): {
        "level": 2,
        "reason": "carrier_failure",
        "carrier": "DHL",
        "new_delivery_date": "2026-11-27",
        "voucher": {**VOUCHER, "kind": "fixed", "value": "5.00"},
    },
    ("review_request", "nl"): {"items": [{"title": "Fietsbel", "quantity": 1}], "voucher": None},
    ("review_request", "en"): {"review_url": "https://shop.example/review/1001", "voucher": VOUCHER},
    ("order_problem", "nl"): {"report_cause": "damaged", "replacement": True, "hear_from_us_by": "2026-11-27"},
    ("order_problem", "en"): {"report_cause": "not_received", "situation": "delivered", "carrier": "PostNL", "delivered_on": "2026-11-24", "hear_from_us_by": "2026-11-27"},
    ("order_problem_replacement", "nl"): {"report_cause": "wrong_item"},
    ("order_problem_replacement", "en"): {"report_cause": "damaged"},
}

EXPECTED: dict[tuple[str, str], tuple[str, str]] = {
    ("address_question", "nl"): (
        "Bestelling #1001: wil je je bezorgadres controleren?",
        """\
Hoi Sanne,

Bedankt voor je bestelling #1001 (2× Fietsbel en Café-racer stuurlint). Voordat we die kunnen versturen, hebben we je hulp nodig bij het bezorgadres: het huisnummer ontbreekt.

Je kunt het hier in een minuutje verbeteren:
https://ordercare.example/fix/abc.def
De link werkt tot en met dinsdag 1 december.

Het adres dat we nu hebben:
  Hoofdstraat
  1234 AB Amsterdam

We houden je bestelling klaar en versturen hem zodra het adres klopt. Wil je liever annuleren, of is er iets anders mis? Beantwoord dan gewoon deze e-mail.

Hartelijke groet,
Fietsenwinkel Één
""",
    ),
    ("address_question", "en"): (
        "Order #1001: please check your delivery address",
        """\
Hello,

Thank you for your order #1001 (2× Fietsbel and Café-racer stuurlint). Before we can send it, we need your help with the delivery address: the street name is missing and the postcode is not in the right format.

You can correct it here in about a minute:
https://ordercare.example/fix/abc.def
The link works until Tuesday 1 December.

We keep your order ready and send it as soon as the address is right. Would you rather cancel, or is something else wrong? Just reply to this e-mail.

Kind regards,
Fietsenwinkel Één
""",
    ),
    ("promise_followup", "nl"): (
        "Bestelling #1001 is nog niet bezorgd",
        """\
Hoi Sanne,

We hadden je gezegd dat je bestelling #1001 (2× Fietsbel en Café-racer stuurlint) uiterlijk donderdag 26 november zou aankomen. Het pakket is onderweg met PostNL, maar nog niet bezorgd. De nieuwe verwachte bezorgdatum is zaterdag 28 november.
Je kunt het hier volgen: https://postnl.nl/tt/3SABC

Het spijt ons dat we ons niet aan die datum hebben kunnen houden. Wil je liever niet wachten en je geld terug? Beantwoord deze e-mail, dan lossen we het op.

Hartelijke groet,
Fietsenwinkel Één
""",
    ),
    ("promise_followup", "en"): (
        "News about order #1001, as promised",
        """\
Hi Sanne,

We promised to let you know by Thursday 26 November how your order #1001 (2× Fietsbel and Café-racer stuurlint) is doing, so here is where it stands. It has not left our warehouse yet. We cannot give you a reliable new date yet. You will hear from us by Monday 30 November at the latest.

If you would rather not wait and have your money back, reply to this e-mail and we will sort it out.

Kind regards,
Fietsenwinkel Één
""",
    ),
    ("stale_update", "nl"): (
        "Bestelling #1001 duurt langer dan we zeiden",
        """\
Hoi Sanne,

Je bestelling #1001 (2× Fietsbel en Café-racer stuurlint) is nog niet verstuurd: het inpakken duurt bij ons langer dan normaal. De nieuwe verwachte bezorgdatum is donderdag 26 november.

We laten het je liever nu weten dan dat je moet wachten en je afvraagt waar hij blijft. Wil je de bestelling niet meer? Beantwoord deze e-mail, dan annuleren we hem en krijg je je geld terug. Een andere vraag? Antwoord gerust, een mens leest elk antwoord.

Hartelijke groet,
Fietsenwinkel Één
""",
    ),
    ("stale_update", "en"): (
        "Order #1001 is taking longer than we said",
        """\
Hi Sanne,

Your order #1001 (2× Fietsbel and Café-racer stuurlint) has not left our warehouse yet: we are holding it while we sort something out. We cannot give you a reliable new date yet. You will hear from us by Friday 27 November at the latest.

We would rather tell you now than let you wait and wonder. If you no longer want the order, reply to this e-mail and we will cancel it and refund you. Any other question: just reply, a person reads every answer.

Kind regards,
Fietsenwinkel Één
""",
    ),
    ("next_day_missed", "nl"): (
        "Sorry, bestelling #1001 komt later dan beloofd",
        """\
Hoi Sanne,

Je koos voor bezorging de volgende dag bij bestelling #1001 (2× Fietsbel en Café-racer stuurlint), maar we hebben die niet op tijd de deur uit gekregen. Dat is onze fout. De nieuwe verwachte bezorgdatum is woensdag 25 november.

Als klein gebaar krijg je van ons een kortingscode voor je volgende bestelling: OC-7KQ2M9 (10% korting, geldig tot en met 22 februari 2027).

Wil je liever annuleren? Beantwoord deze e-mail, dan regelen we het meteen.

Hartelijke groet,
Fietsenwinkel Één
""",
    ),
    ("next_day_missed", "en"): (
        "Sorry, order #1001 will arrive later than promised",
        """\
Hi Sanne,

You chose next-day delivery for order #1001 (2× Fietsbel and Café-racer stuurlint), and we did not get it out of the door in time. That is our mistake. The new expected delivery date is Wednesday 25 November.

Would you rather cancel? Reply to this e-mail and we will sort it out straight away.

Kind regards,
Fietsenwinkel Één
""",
    ),
    ("delay_notice", "nl"): (
        "Je pakket van bestelling #1001 is vertraagd",
        """\
Hoi Sanne,

Je pakket met bestelling #1001 (2× Fietsbel en Café-racer stuurlint) is al een paar dagen niet gescand door PostNL, dus we weten niet precies waar het is. Een betrouwbare nieuwe datum kunnen we je nog niet geven. Uiterlijk vrijdag 27 november hoor je van ons.
Je kunt het hier volgen: https://postnl.nl/tt/3SABC

Wil je liever niet wachten en je geld terug? Beantwoord deze e-mail, dan lossen we het op.

Hartelijke groet,
Fietsenwinkel Één
""",
    ),
    ("delay_notice", "en"): (
        "Your parcel for order #1001 is still on its way",
        """\
Hi Sanne,

Your parcel with order #1001 (2× Fietsbel and Café-racer stuurlint) could not be delivered by DHL. The new expected delivery date is Friday 27 November.

We wrote to you about this parcel before, and we are sorry it is taking this long. As a small apology, here is a discount code for your next order: OC-7KQ2M9 (€5.00 off, valid until 22 February 2027).

If it has not arrived by then, or you would rather have your money back, reply to this e-mail and we will sort it out.

Kind regards,
Fietsenwinkel Één
""",
    ),
    ("review_request", "nl"): (
        "Hoe bevalt je Fietsbel?",
        """\
Hoi Sanne,

Je bestelling #1001 (Fietsbel) is een paar dagen geleden bezorgd. We hopen dat alles in orde is.

Wil je andere klanten vertellen wat je ervan vindt? Beantwoord deze e-mail met een paar woorden. Het kost je een minuut en helpt ons enorm.

Klopt er iets niet? Beantwoord deze e-mail, dan lossen we het op.

Hartelijke groet,
Fietsenwinkel Één

Je krijgt deze e-mail omdat je hebt aangegeven van ons te willen horen. Liever niet? Antwoord dan met "stop".
""",
    ),
    ("review_request", "en"): (
        "How do you like your order #1001?",
        """\
Hi Sanne,

Your order #1001 (2× Fietsbel and Café-racer stuurlint) arrived a few days ago. We hope everything is as it should be.

Would you tell other customers what you think? It takes a minute and helps us a lot:
https://shop.example/review/1001

As a thank you, here is a discount code for your next order: OC-7KQ2M9 (10% off, valid until 22 February 2027).

If something is not right, reply to this e-mail and we will sort it out.

Kind regards,
Fietsenwinkel Één

You receive this e-mail because you agreed to hear from us. Rather not? Reply with "stop".
""",
    ),
    ("order_problem", "nl"): (
        'Je bestelling #1001: we lossen het op',
        """\
Hoi Sanne,

Dank je wel dat je ons laat weten dat 2× Fietsbel en Café-racer stuurlint beschadigd zijn aangekomen (bestelling #1001). Het spijt ons: dat had niet mogen gebeuren.
We maken een vervanging voor je klaar, zonder kosten. Je hoort uiterlijk vrijdag 27 november van ons, zodra hij onderweg is. Je hoeft niets terug te sturen, tenzij we je daarom vragen.

Hartelijke groet,
Fietsenwinkel Één
""",
    ),
    ("order_problem", "en"): (
        'Your parcel for order #1001: we are looking into it',
        """\
Hi Sanne,

Thank you for letting us know that your parcel with order #1001 has not reached you. PostNL registered it as delivered on Tuesday 24 November. Sometimes a parcel is left with a neighbour, in a safe place or at a pickup point: could you have a look?
Meanwhile we are asking PostNL what happened. You will hear from us by Friday 27 November at the latest.

Kind regards,
Fietsenwinkel Één
""",
    ),
    ("order_problem_replacement", "nl"): (
        'We sturen je een vervanging voor bestelling #1001',
        """\
Hoi Sanne,

Goed nieuws: we sturen je 2× Fietsbel en Café-racer stuurlint opnieuw, zonder kosten.

Hartelijke groet,
Fietsenwinkel Één
""",
    ),
    ("order_problem_replacement", "en"): (
        'We are sending you a replacement for order #1001',
        """\
Hi Sanne,

Good news: we are sending you 2× Fietsbel and Café-racer stuurlint again, at no cost to you.

Kind regards,
Fietsenwinkel Één
""",
    ),
}


# out of stock: the first e-mail with its choices, and the confirmation of a choice
CASES_OOS: dict[tuple[str, str], dict[str, Any]] = {
    ('out_of_stock', 'nl'): {'stock_lines': [{'title': 'Café-racer stuurlint', 'quantity': 1, 'wait_until': '2026-12-02', 'alternatives': ['Stuurlint bruin']}], 'choice_url': 'https://ordercare.example/stock/abc.def', 'choice_expires_on': '2026-12-08'},
    ('out_of_stock', 'en'): {'first_name': None, 'stock_lines': [{'title': 'Fietsbel', 'quantity': 2, 'wait_until': None, 'alternatives': []}, {'title': 'Café-racer stuurlint', 'quantity': 1, 'wait_until': '2026-12-02', 'alternatives': []}], 'choice_url': 'https://ordercare.example/stock/abc.def'},
    ('out_of_stock_choice', 'nl'): {'choice': 'wait', 'item': 'Café-racer stuurlint', 'new_delivery_date': '2026-12-02'},
    ('out_of_stock_choice', 'en'): {'choice': 'cancel', 'item': 'Café-racer stuurlint', 'refund': '€12.50'},
}
EXPECTED_OOS: dict[tuple[str, str], tuple[str, str]] = {
    ('out_of_stock', 'nl'): (
        'Café-racer stuurlint uit bestelling #1001 is niet op voorraad',
        """\
Hoi Sanne,

Het spijt ons: bij het inpakken van je bestelling #1001 zagen we dat we Café-racer stuurlint nu niet kunnen versturen. Het is niet op voorraad. Jij kiest wat er gebeurt:

- erop wachten: je hebt het uiterlijk woensdag 2 december;
- in plaats daarvan Stuurlint bruin;
- dit artikel annuleren, dan krijg je het bedrag ervan terug.

Kies hier (het kost je een minuut):
https://ordercare.example/stock/abc.def
De link werkt tot en met dinsdag 8 december.

Misschien bellen we je er ook even over. Liever nu overleggen? Beantwoord deze e-mail; een mens leest elk antwoord.

Hartelijke groet,
Fietsenwinkel Één
""",
    ),
    ('out_of_stock', 'en'): (
        'Items from order #1001 are out of stock',
        """\
Hello,

We are sorry: while packing your order #1001 we found that we cannot send 2× Fietsbel and Café-racer stuurlint right now. They are out of stock. You choose what happens next:

Fietsbel:
- cancel this item, and we refund what you paid for it.

Café-racer stuurlint:
- wait for it: you will have it by Wednesday 2 December;
- cancel this item, and we refund what you paid for it.

Choose here (it takes a minute):
https://ordercare.example/stock/abc.def

We may also give you a call about it. Rather talk now? Just reply to this e-mail; a person reads every answer.

Kind regards,
Fietsenwinkel Één
""",
    ),
    ('out_of_stock_choice', 'nl'): (
        'We houden Café-racer stuurlint voor je apart: bestelling #1001',
        """\
Hoi Sanne,

Fijn dat je wilt wachten. We versturen Café-racer stuurlint zodra het binnen is; je hebt het uiterlijk woensdag 2 december. Verandert er iets, dan hoor je dat vóór die dag van ons.

Bedankt voor je geduld.

Hartelijke groet,
Fietsenwinkel Één
""",
    ),
    ('out_of_stock_choice', 'en'): (
        'Café-racer stuurlint is cancelled: order #1001',
        """\
Hi Sanne,

Done: Café-racer stuurlint is taken off your order #1001. We refund €12.50 to you; our staff take care of it and you will see it with the way you paid.

Thank you for your patience.

Kind regards,
Fietsenwinkel Één
""",
    ),
}
CASES.update(CASES_OOS)
EXPECTED.update(EXPECTED_OOS)

# the delivery day agreed on the phone, confirmed (connector.admin.calls)
CASES.update({("date_confirmed", loc): {"agreed_on": "2026-11-27"} for loc in ("nl", "en")})
EXPECTED.update(
    {
        ("date_confirmed", "nl"): (
            "Bestelling #1001 bezorgen we op vrijdag 27 november, zoals afgesproken",
            """\
Hoi Sanne,

Fijn dat we elkaar telefonisch spraken. Zoals afgesproken bezorgen we je bestelling #1001 (2× Fietsbel en Café-racer stuurlint) op vrijdag 27 november.

Verandert er iets, dan laten we het je vóór die dag weten. Een vraag? Beantwoord gewoon deze e-mail, een mens leest elk antwoord.

Hartelijke groet,
Fietsenwinkel Één
""",
        ),
        ("date_confirmed", "en"): (
            "Order #1001 will be delivered on Friday 27 November, as we agreed",
            """\
Hi Sanne,

Thank you for talking to us on the phone. As we agreed, your order #1001 (2× Fietsbel and Café-racer stuurlint) will be delivered on Friday 27 November.

If anything changes, we will let you know before that day. Any question: just reply, a person reads every answer.

Kind regards,
Fietsenwinkel Één
""",
        ),
    }
)


def test_a_confirmed_date_needs_the_day(renderer: Renderer) -> None:
    with pytest.raises(ContextError, match=r"context\.agreed_on: required for date_confirmed"):
        renderer.render("date_confirmed", "nl", dict(BASE))


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer()


def test_every_message_has_a_case_in_both_languages() -> None:
    assert set(CASES) == {(t, loc) for t in TEMPLATES for loc in ("nl", "en")}


@pytest.mark.parametrize(("template", "locale"), sorted(CASES))
def test_subject_and_text_are_exactly_as_written(renderer: Renderer, template: str, locale: str) -> None:
    message = renderer.render(template, locale, {**BASE, **CASES[template, locale]})
    subject, text = EXPECTED[template, locale]
    assert (message.subject, message.text) == (subject, text)
    assert message.locale == locale


@pytest.mark.parametrize(("template", "locale"), sorted(CASES))
def test_html_says_the_same_and_escapes_what_customers_typed(renderer: Renderer, template: str, locale: str) -> None:
    context = {**BASE, **CASES[template, locale], "shop_name": "Fietsen & <Co>"}
    message = renderer.render(template, locale, context)
    assert message.html.startswith(f'<!DOCTYPE html>\n<html lang="{locale}">')
    assert f"<title>{message.subject}</title>" in message.html
    assert "Fietsen &amp; &lt;Co&gt;" in message.html
    assert "<Co>" not in message.html
    assert ("Café-racer stuurlint" in message.html) == ("Café-racer stuurlint" in message.text)
    assert "regret" not in message.text.lower()


def test_address_question_html_has_the_fix_button(renderer: Renderer) -> None:
    message = renderer.render("address_question", "nl", {**BASE, **CASES["address_question", "nl"]})
    assert f'<a href="{FIX_URL}"' in message.html
    assert ">Mijn adres verbeteren</a>" in message.html
    assert "<strong>het huisnummer ontbreekt</strong>" in message.html


def test_voucher_appears_whenever_the_context_has_one(renderer: Renderer) -> None:
    for template in TEMPLATES:
        for locale in ("nl", "en"):
            with_voucher = renderer.render(template, locale, {**BASE, **CASES[template, locale], "voucher": VOUCHER})
            without = renderer.render(template, locale, {**BASE, **CASES[template, locale], "voucher": None})
            for part in (with_voucher.text, with_voucher.html):
                assert "OC-7KQ2M9" in part, (template, locale)
                assert "10%" in part, (template, locale)
            assert "OC-7KQ2M9" not in without.text + without.html


def test_delay_level_one_and_two_differ(renderer: Renderer) -> None:
    context = {**BASE, "reason": "late", "new_delivery_date": "2026-11-27"}
    first = renderer.render("delay_notice", "en", {**context, "level": 1})
    second = renderer.render("delay_notice", "en", {**context, "level": 2})
    assert first.subject == "Your parcel for order #1001 is delayed"
    assert second.subject == "Your parcel for order #1001 is still on its way"
    assert "We wrote to you about this parcel before" not in first.text
    assert "We wrote to you about this parcel before" in second.text
    assert "did not arrive on the day we expected. The new expected delivery date is Friday 27 November." in first.text


def test_unknown_locale_falls_back_to_english(renderer: Renderer) -> None:
    message = renderer.render("stale_update", "de-DE", {**BASE, **CASES["stale_update", "en"]})
    assert message.locale == "en"
    assert message.subject == EXPECTED["stale_update", "en"][0]
    assert normalise_locale("nl_BE") == "nl"
    assert normalise_locale(None, default="nl") == "nl"


def test_merchant_templates_take_precedence_file_by_file(tmp_path: Path) -> None:
    (tmp_path / "nl").mkdir()
    (tmp_path / "nl" / "_signature.txt").write_text("Groetjes van Piet,\n{{ shop_name }}\n", encoding="utf-8")
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "stale_update.subject.txt").write_text("Still packing {{ order_number }}\n", encoding="utf-8")
    renderer = Renderer(tmp_path)
    nl = renderer.render("stale_update", "nl", {**BASE, **CASES["stale_update", "nl"]})
    assert nl.text.endswith("Groetjes van Piet,\nFietsenwinkel Één\n")
    assert nl.subject == EXPECTED["stale_update", "nl"][0]  # the Dutch subject is still the packaged one
    en = renderer.render("stale_update", "en", {**BASE, **CASES["stale_update", "en"]})
    assert en.subject == "Still packing #1001"
    assert en.text.endswith("Kind regards,\nFietsenwinkel Één\n")


def test_a_locale_without_its_own_file_uses_the_english_one(tmp_path: Path) -> None:
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "thanks.txt").write_text("x", encoding="utf-8")
    renderer = Renderer(tmp_path)
    assert renderer.has_template("thanks", "nl")
    assert not renderer.has_template("no_such_file", "nl")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"shop_name": None}, "context.shop_name: required"),
        ({"order_number": 1001}, "context.order_number: expected text, got int"),
        ({"new_delivery_date": "26-11-2026"}, "context.new_delivery_date: expected an ISO date like '2026-11-26'"),
        ({"items": [{"title": "Bel", "quantity": 0}]}, "context.items[0].quantity: expected a whole number"),
        ({"items": [{"quantity": 1}]}, "context.items[0].title: required"),
        ({"voucher": {**VOUCHER, "kind": "free"}}, "context.voucher.kind: expected 'percentage' or 'fixed'"),
        ({"voucher": {**VOUCHER, "value": "lots"}}, "context.voucher.value: expected a number"),
        ({"level": 0}, "context.level: expected a whole number of at least 1"),
    ],
)
def test_bad_context_names_the_key(renderer: Renderer, change: dict[str, Any], message: str) -> None:
    with pytest.raises(ContextError) as excinfo:
        renderer.render("delay_notice", "en", {**BASE, **change})
    assert str(excinfo.value).startswith(message)


def test_unknown_template_is_refused(renderer: Renderer) -> None:
    with pytest.raises(ContextError, match="template: unknown message 'welcome'"):
        renderer.render("welcome", "en", BASE)


def test_staff_note_in_the_shop_language(renderer: Renderer) -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    at = datetime(2026, 11, 24, 10, 5, tzinfo=ZoneInfo("Europe/Amsterdam"))
    context = {"at": at, "address": "Hoofdstraat 12, 1234 AB Amsterdam"}
    assert renderer.render_note("note_address_fixed", "nl", context) == (
        "24 nov 2026 10:05 ordercare: adres gecorrigeerd door de klant via de herstellink: "
        "Hoofdstraat 12, 1234 AB Amsterdam."
    )
    assert renderer.render_note("note_address_fixed", "en", context) == (
        "24 Nov 2026 10:05 ordercare: address corrected by the customer through the fix link: "
        "Hoofdstraat 12, 1234 AB Amsterdam."
    )


def test_problem_phrases_for_the_fix_page(renderer: Renderer) -> None:
    assert renderer.problem_texts(["missing_street", "nonsense"], "nl") == ["de straatnaam ontbreekt"]
    assert renderer.problem_texts(["postcode_city_mismatch"], "en") == ["the postcode and the town do not match"]
