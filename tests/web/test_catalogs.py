"""The dashboard's Dutch catalog is complete: every message in the code has a translation with the same fields,
and the compiled catalog the app loads says what the .po file says."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
LOCALE = ROOT / "webhooks" / "translations" / "nl" / "LC_MESSAGES"
FIELD = re.compile(r"%\((\w+)\)s")


def _entries(catalog: Catalog) -> dict[str, str]:
    """msgid -> msgstr; a plural message by its singular, its forms joined with `` | ``."""
    return {
        (m.id if isinstance(m.id, str) else m.id[0]): (
            m.string if isinstance(m.string, str) else " | ".join(m.string or ()) if all(m.string or ("",)) else ""
        )
        for m in catalog
        if m.id
    }


def _catalog() -> dict[str, str]:
    with (LOCALE / "messages.po").open("rb") as f:
        catalog = read_po(f)
    assert not [m.id for m in catalog if m.id and m.fuzzy], "fuzzy messages in the Dutch catalog"
    return _entries(catalog)


def _in_the_code() -> set[str]:
    found: set[str] = set()
    methods = [
        ("webhooks/admin/**.py", "python"),
        ("connector/admin/wording.py", "python"),
        ("connector/admin/queries.py", "python"),
        ("webhooks/templates/admin/**.html", "jinja2"),
    ]
    keywords = {"_": None, "gettext": None, "N_": None, "ngettext": (1, 2), "lazy_gettext": None}
    for _, _, message, _, _ in extract_from_dir(str(ROOT), methods, keywords=keywords):
        found.add(message if isinstance(message, str) else message[0])
    return found


def test_every_message_in_the_code_is_in_the_dutch_catalog_with_a_translation() -> None:
    catalog = _catalog()
    missing = sorted(_in_the_code() - set(catalog))
    assert missing == [], "run the pybabel commands in babel.cfg"
    assert sorted(message for message, dutch in catalog.items() if not dutch) == []


def test_each_translation_keeps_the_fields_of_its_message() -> None:
    wrong = {m: d for m, d in _catalog().items() if d and sorted(FIELD.findall(m)) != sorted(FIELD.findall(d))}
    assert wrong == {}


def test_the_compiled_catalog_is_the_po_file() -> None:
    with (LOCALE / "messages.mo").open("rb") as f:
        compiled = _entries(read_mo(f))
    assert compiled == _catalog(), "run: pybabel compile -d webhooks/translations"
