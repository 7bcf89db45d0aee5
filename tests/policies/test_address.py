"""The address policy's decisions: flag, hold, ask; release and resolve on a fix in the shop; stay quiet."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from connector import codec
from connector.actions import ActionKind
from connector.address.check import LookupResult, LookupUnavailable
from connector.model import OrderStatus
from connector.policies.address import POLICY, fingerprint
from connector.policies.base import Annotate, Open, Resolve

from .support import address, context, customer, incident, order, payload, planned

NOW = datetime(2026, 11, 24, 9, 5, tzinfo=UTC)


def test_a_good_address_plans_nothing() -> None:
    decision = POLICY.decide(order(), {}, NOW, context())
    assert decision.empty
    assert decision.next_check is None


def test_missing_house_number_holds_tags_notes_and_asks() -> None:
    bad = order(shipping_address=address(address1="Hoofdstraat", house_number=None))
    decision = POLICY.decide(bad, {}, NOW, context())
    assert planned(decision) == [
        ("hold_fulfillment", "1-hold", "address"),
        ("add_tags", "1-tag", "address"),
        ("add_note", "1-note", "address"),
        ("notify_customer", "1-notify", "address"),
    ]
    (op,) = decision.incidents
    assert isinstance(op, Open)
    assert op.kind == "address"
    assert op.level == 1
    assert op.details["problems"] == ["missing_house_number"]
    assert op.details["held"] is True
    assert op.details["asked"] is True
    assert payload(decision, ActionKind.ADD_TAGS) == {"tags": ["ordercare:address"]}
    note = payload(decision, ActionKind.ADD_NOTE)["text"]
    assert note == (
        "24 nov 2026 10:05 ordercare: adres klopt niet: huisnummer ontbreekt. Verzending staat vast. "
        "Klant is gevraagd het adres aan te vullen."
    )
    # the hold goes before the message, so its note claims nothing about the customer
    held = "24 nov 2026 10:05 ordercare: adres klopt niet: huisnummer ontbreekt. Verzending staat vast."
    assert payload(decision, ActionKind.HOLD_FULFILLMENT) == {"reason": "incorrect_address", "note": held}
    # the staff note waits for the message and says so only once it went, or that and why it did not
    (step,) = [s.action for s in decision.actions if s.action.kind is ActionKind.ADD_NOTE]
    assert (step.after_step, step.after_even_if_failed) == ("1-notify", True)
    assert payload(decision, ActionKind.ADD_NOTE)["if_after_failed"] == {
        "text": held + " Het bericht aan de klant is niet verstuurd: {error}."
    }
    email = payload(decision, ActionKind.NOTIFY_CUSTOMER)
    assert email["template"] == "address_question"
    assert email["to"] == "sanne@example.nl"
    assert email["locale"] == "nl"
    assert email["marketing"] is False
    assert email["context"]["problems"] == ["missing_house_number"]
    assert email["context"]["shop_name"] == "Fietsenwinkel"
    assert email["context"]["order_number"] == "#1001"
    assert email["context"]["first_name"] == "Sanne"
    assert email["context"]["items"] == [{"title": "Fietsbel", "quantity": 2}]
    assert email["context"]["voucher"] is None
    assert decision.next_check is None


def test_english_shop_notes_in_english_and_customer_locale_wins_for_the_email() -> None:
    bad = order(shipping_address=address(address1="Hoofdstraat", house_number=None), customer=customer(locale="en-GB"))
    decision = POLICY.decide(bad, {}, NOW, context(locale="en"))
    assert payload(decision, ActionKind.ADD_NOTE)["text"] == (
        "24 Nov 2026 10:05 ordercare: address problem: house number missing. Fulfilment is on hold. "
        "Customer asked to complete the address."
    )
    assert payload(decision, ActionKind.NOTIFY_CUSTOMER)["locale"] == "en"


def test_no_email_means_no_question_and_the_note_says_nothing_about_asking() -> None:
    bad = order(shipping_address=address(postcode="1234A"), customer=customer(email=None))
    decision = POLICY.decide(bad, {}, NOW, context())
    assert [k for k, _, _ in planned(decision)] == ["hold_fulfillment", "add_tags", "add_note"]
    assert decision.incidents[0].details["asked"] is False  # type: ignore[union-attr]
    assert "Klant is gevraagd" not in payload(decision, ActionKind.ADD_NOTE)["text"]
    assert "postcode heeft niet de juiste vorm" in payload(decision, ActionKind.ADD_NOTE)["text"]


def test_hold_and_question_can_be_switched_off() -> None:
    bad = order(shipping_address=address(street=None, address1="12"))
    decision = POLICY.decide(bad, {}, NOW, context({"address": {"hold_fulfillment": False, "ask_customer": False}}))
    assert planned(decision) == [("add_tags", "1-tag", "address"), ("add_note", "1-note", "address")]
    assert decision.incidents[0].details["held"] is False  # type: ignore[union-attr]


def test_countries_outside_the_list_are_not_checked() -> None:
    french = order(shipping_address=address(country_code="FR", house_number=None, address1="rue de la Paix"))
    assert POLICY.decide(french, {}, NOW, context()).empty
    assert not POLICY.decide(french, {}, NOW, context({"address": {"countries": ["NL", "FR"]}})).empty


def test_pickup_orders_without_address_are_fine_but_a_parcel_without_one_is_not() -> None:
    assert POLICY.decide(order(shipping_address=None, requires_shipping=False), {}, NOW, context()).empty
    decision = POLICY.decide(order(shipping_address=None), {}, NOW, context())
    assert decision.incidents[0].details["problems"] == ["missing_address"]  # type: ignore[union-attr]


def test_an_open_incident_with_the_address_still_wrong_plans_nothing_new() -> None:
    bad = order(shipping_address=address(house_number=None, address1="Hoofdstraat"))
    open_one = incident("address", fingerprint=fingerprint(bad.shipping_address), held=True)
    decision = POLICY.decide(bad, {"address": open_one}, NOW, context())
    assert decision.empty


def test_fixed_in_the_shop_admin_releases_our_hold_notes_and_resolves() -> None:
    open_one = incident("address", held=True, fingerprints=["x"])
    decision = POLICY.decide(order(), {"address": open_one}, NOW, context())
    assert planned(decision) == [("release_hold", "1-release", "address"), ("add_note", "1-fixed-note", "address")]
    assert payload(decision, ActionKind.ADD_NOTE)["text"] == (
        "24 nov 2026 10:05 ordercare: adres is in de winkel aangepast; onze blokkade is opgeheven; incident gesloten."
    )
    fixed = {"typed": None, "corrected": codec.dump(order().shipping_address), "by": "shop"}
    assert decision.incidents == [
        Annotate("address", {"address": fixed}),  # the corrected address, for staff beside the typed one
        Resolve("address", "address corrected in the shop"),
    ]


def test_the_typed_address_is_kept_and_the_shop_s_correction_beside_it() -> None:
    typed = order(shipping_address=address(house_number=None, address1="Hoofdstraat"))
    opened = POLICY.decide(typed, {}, NOW, context()).incidents[0]
    assert opened.details["address"] == {"typed": codec.dump(typed.shipping_address)}  # type: ignore[union-attr]
    open_one = incident("address", held=True, fingerprints=["x"], address=opened.details["address"])  # type: ignore[union-attr]
    decision = POLICY.decide(order(), {"address": open_one}, NOW, context())
    assert decision.incidents[0] == Annotate(
        "address",
        {"address": {"typed": codec.dump(typed.shipping_address), "corrected": codec.dump(order().shipping_address),
                     "by": "shop"}},
    )  # fmt: skip


def test_fixed_without_our_hold_releases_nothing() -> None:
    decision = POLICY.decide(order(), {"address": incident("address", held=False)}, NOW, context())
    assert planned(decision) == [("add_note", "1-fixed-note", "address")]


def test_after_the_fix_page_resolved_it_a_good_address_is_quiet() -> None:
    resolved = incident("address", state="resolved", fingerprints=["abc"])
    assert POLICY.decide(order(), {"address": resolved}, NOW, context()).empty


def test_a_stale_snapshot_of_the_flagged_address_does_not_reopen() -> None:
    bad = order(shipping_address=address(house_number=None, address1="Hoofdstraat"))
    resolved = incident("address", state="resolved", fingerprints=[fingerprint(bad.shipping_address)])
    assert POLICY.decide(bad, {"address": resolved}, NOW, context()).empty


def test_a_new_bad_address_reopens_with_fresh_steps() -> None:
    resolved = incident("address", state="resolved", occurrence=1, fingerprints=["old"])
    bad = order(shipping_address=address(postcode="12345"))
    decision = POLICY.decide(bad, {"address": resolved}, NOW, context())
    assert [step for _, step, _ in planned(decision)] == ["2-hold", "2-tag", "2-note", "2-notify"]
    assert decision.incidents[0].details["fingerprints"] == ["old", fingerprint(bad.shipping_address)]  # type: ignore[union-attr]


def test_shipped_or_cancelled_orders_resolve_an_open_incident_without_actions() -> None:
    shipped = order(status=OrderStatus.SHIPPED, shipping_address=address(house_number=None, address1="Hoofdstraat"))
    decision = POLICY.decide(shipped, {"address": incident("address")}, NOW, context())
    assert decision.incidents == [Resolve("address", "order shipped")]
    assert decision.actions == []
    cancelled = order(status=OrderStatus.CANCELLED)
    assert POLICY.decide(cancelled, {"address": incident("address")}, NOW, context()).incidents == [
        Resolve("address", "order cancelled")
    ]
    assert POLICY.decide(shipped, {}, NOW, context()).empty


def test_split_field_checkout_with_an_empty_house_number() -> None:
    split = order(shipping_address=address(house_number=None), extra={"address_source": "split_meta"})
    decision = POLICY.decide(split, {}, NOW, context())
    assert decision.incidents[0].details["problems"] == ["missing_house_number"]  # type: ignore[union-attr]
    # the same lines from a one-line checkout: the number is parsed from "Hoofdstraat 12"
    assert POLICY.decide(order(shipping_address=address(house_number=None)), {}, NOW, context()).empty


class FakeLookup:
    def __init__(self, result: LookupResult | Exception | None) -> None:
        self.result = result
        self.calls: list[tuple[str, str, str]] = []

    def lookup(self, country_code: str, postcode: str, house_number: str) -> LookupResult | None:
        self.calls.append((country_code, postcode, house_number))
        if isinstance(self.result, Exception):
            raise self.result
        return self.result


def test_postcode_city_mismatch_from_the_lookup() -> None:
    lookup = FakeLookup(LookupResult(street="Hoofdstraat", city="Utrecht", postcode="1234AB"))
    decision = POLICY.decide(order(), {}, NOW, context(lookup=lookup))
    assert decision.incidents[0].details["problems"] == ["postcode_city_mismatch"]  # type: ignore[union-attr]
    assert lookup.calls == [("NL", "1234 AB", "12")]


def test_lookup_agreeing_is_quiet_and_unavailable_looks_again_later() -> None:
    agreeing = FakeLookup(LookupResult(street="Hoofdstraat", city="AMSTERDAM", postcode="1234AB"))
    assert POLICY.decide(order(), {}, NOW, context(lookup=agreeing)).empty
    down = POLICY.decide(order(), {}, NOW, context(lookup=FakeLookup(LookupUnavailable("down"))))
    assert down.empty
    assert down.next_check == NOW + timedelta(hours=1)
