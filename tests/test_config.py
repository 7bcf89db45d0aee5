"""Configuration: every bad key is named with its path; ${VAR} expansion; check-config exit codes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from connector.checks import config_warnings, woocommerce_warnings
from connector.cli import main
from connector.config import ConfigError, load_settings, normalise_site_url, settings_from_mapping

GOOD: dict[str, Any] = {
    "database_url": "sqlite:///ordercare.db",
    "secret_key": "${ORDERCARE_SECRET_KEY}",
    "shops": [
        {
            "id": "my-shop",
            "platform": "shopify",
            "shop_domain": "my-shop.myshopify.com",
            "access_token": "${SHOPIFY_TOKEN}",
            "webhook_secret": "${SHOPIFY_API_SECRET}",
        },
        {
            "id": "winkel",
            "platform": "woocommerce",
            "url": "https://winkel.example.nl",
            "consumer_key": "ck",
            "consumer_secret": "cs",
            "webhook_secret": "s",
            "timezone": "Europe/Brussels",
            "locale": "en",
        },
    ],
}
STRONG_KEY = "k7Qw2Zr9Lp4Xv8Nc3Jt6Hy1Bm5Dg0Fs_"
ENV = {"ORDERCARE_SECRET_KEY": "0123456789abcdef0123", "SHOPIFY_TOKEN": "shpat_x", "SHOPIFY_API_SECRET": "sec"}


def problems(raw: object, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        settings_from_mapping(raw, env=ENV if env is None else env)
    return caught.value.problems


def test_good_config_expands_environment_variables() -> None:
    settings = settings_from_mapping(GOOD, env=ENV)
    assert settings.secret_key == "0123456789abcdef0123"
    assert settings.shops[0].access_token == "shpat_x"
    assert settings.shops[0].key == "my-shop.myshopify.com"
    assert settings.shops[1].key == "https://winkel.example.nl/"
    assert settings.scheduler.tick_seconds == 60
    assert settings.shop("winkel").locale == "en"


def test_default_value_syntax() -> None:
    raw = {**GOOD, "public_url": "${PUBLIC_URL:-http://localhost:9000}"}
    assert settings_from_mapping(raw, env=ENV).public_url == "http://localhost:9000"


def test_every_problem_is_reported_with_its_key_path() -> None:
    raw = yaml.safe_load(yaml.safe_dump(GOOD))
    raw["shops"][1]["timezone"] = "Europe/Amsterdm"
    raw["shops"][0]["colour"] = "blue"
    raw["scheduler"] = {"tick_seconds": 0}
    env = {k: v for k, v in ENV.items() if k != "SHOPIFY_API_SECRET"}
    found = problems(raw, env)
    assert "shops[1].timezone: unknown time zone 'Europe/Amsterdm'" in found
    assert "shops[0].webhook_secret: environment variable SHOPIFY_API_SECRET is not set" in found
    assert "shops[0].colour: unknown key" in found
    assert "scheduler.tick_seconds: Input should be greater than or equal to 1" in found


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (0, "scheduler.outbox_concurrency: Input should be greater than or equal to 1"),
        (33, "scheduler.outbox_concurrency: Input should be less than or equal to 32"),
        ("many", "scheduler.outbox_concurrency: Input should be a valid integer, unable to parse string as an integer"),
    ],
)
def test_outbox_concurrency_out_of_range_is_named(value: object, problem: str) -> None:
    assert problems({**GOOD, "scheduler": {"outbox_concurrency": value}}) == [problem]


def test_outbox_concurrency_defaults_to_four_and_takes_one_to_thirty_two() -> None:
    assert settings_from_mapping(GOOD, env=ENV).scheduler.outbox_concurrency == 4
    for value in (1, 32):
        settings = settings_from_mapping({**GOOD, "scheduler": {"outbox_concurrency": value}}, env=ENV)
        assert settings.scheduler.outbox_concurrency == value


def test_missing_platform_fields_and_duplicate_ids() -> None:
    raw = yaml.safe_load(yaml.safe_dump(GOOD))
    del raw["shops"][1]["consumer_secret"]
    raw["shops"].append(dict(raw["shops"][0]))
    found = problems(raw)
    assert "shops[1]: a woocommerce shop needs consumer_secret" in found
    assert "shops[2].id: 'my-shop' is already used by shops[0]" in found


def test_bad_values_are_named() -> None:
    raw = yaml.safe_load(yaml.safe_dump(GOOD))
    raw["shops"][0]["shop_domain"] = "my-shop.example.com"
    raw["shops"][0]["id"] = "My Shop"
    raw["database_url"] = "mysql://x"
    raw["secret_key"] = "short"
    found = problems(raw)
    assert "shops[0].shop_domain: expected '<name>.myshopify.com', got 'my-shop.example.com'" in found
    assert any(p.startswith("shops[0].id: use lower-case letters") for p in found)
    assert "database_url: use sqlite:///PATH or postgresql+psycopg://USER@HOST/DB" in found
    assert "secret_key: String should have at least 16 characters" in found


def test_not_a_mapping() -> None:
    assert problems(["a"]) == ["(top level): expected a mapping of settings"]


def test_postgresql_url_uses_psycopg() -> None:
    raw = {**GOOD, "database_url": "postgresql://postgres@127.0.0.1/ordercare"}
    assert settings_from_mapping(raw, env=ENV).database_url == "postgresql+psycopg://postgres@127.0.0.1/ordercare"


def test_site_url_normalisation() -> None:
    assert normalise_site_url("HTTPS://Winkel.Example.nl") == "https://winkel.example.nl/"
    assert normalise_site_url("https://winkel.example.nl/") == "https://winkel.example.nl/"


def test_check_config_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    good = tmp_path / "good.yaml"
    voiced = [
        {**GOOD["shops"][0], "sender": "Fietsen <a@fietsen.nl>"},
        {**GOOD["shops"][1], "sender": "Thee <b@thee.nl>"},
    ]
    production = {**GOOD, "public_url": "https://ordercare.example.nl", "shops": voiced, "secret_key": STRONG_KEY}
    good.write_text(yaml.safe_dump(production))
    assert main(["check-config", str(good)]) == 0
    assert capsys.readouterr().out == "ok\n"
    assert main(["check-config", str(good), "--strict"]) == 0
    assert capsys.readouterr().out == "ok\n"

    local = tmp_path / "local.yaml"
    local.write_text(yaml.safe_dump({**GOOD, "public_url": "http://127.0.0.1:8000"}))
    assert main(["check-config", str(local)]) == 0  # a warning is not an error: a sandbox wants exactly this
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(";")[0] for line in lines] == [
        "warning: public_url: http://127.0.0.1:8000 is not https",
        "warning: public_url: port 8000",
        "warning: public_url: 127.0.0.1 is a loopback or private address",
        "warning: shops[0].sender: not set",
        "warning: shops[1].sender: not set",
        "warning: secret_key: 20 characters, fewer than 32",
        "ok",
    ]
    assert main(["check-config", str(local), "--strict"]) == 1
    assert capsys.readouterr().out.splitlines()[-1] == "not ok: 6 warnings (--strict)"

    monkeypatch.setenv("ORDERCARE_CONFIG", str(good))  # like every other command: --config or the environment
    assert main(["check-config"]) == 0
    assert capsys.readouterr().out == "ok\n"
    assert main(["check-config", "--config", str(local), "--strict"]) == 1
    assert capsys.readouterr().out.splitlines()[-1] == "not ok: 6 warnings (--strict)"

    bad = yaml.safe_load(yaml.safe_dump(GOOD))
    bad["shops"][1]["timezone"] = "Europe/Amsterdm"
    bad_file = tmp_path / "bad.yaml"
    bad_file.write_text(yaml.safe_dump(bad))
    assert main(["check-config", str(bad_file)]) == 2
    assert capsys.readouterr().out == "shops[1].timezone: unknown time zone 'Europe/Amsterdm'\n"

    broken = tmp_path / "broken.yaml"
    broken.write_text("shops: [\n")
    assert main(["check-config", str(broken)]) == 2
    assert "not valid YAML at line" in capsys.readouterr().out

    assert main(["check-config", str(tmp_path / "missing.yaml")]) == 2
    assert "cannot read the file" in capsys.readouterr().out


def test_example_config_is_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    example = Path(__file__).parent.parent / "config.example.yaml"
    monkeypatch.setenv("ORDERCARE_SECRET_KEY", "0123456789abcdef0123")
    monkeypatch.setenv("SHOPIFY_TOKEN", "shpat_x")
    monkeypatch.setenv("SHOPIFY_API_SECRET", "sec")
    monkeypatch.setenv("WOO_CONSUMER_KEY", "ck")
    monkeypatch.setenv("WOO_CONSUMER_SECRET", "cs")
    monkeypatch.setenv("WOO_WEBHOOK_SECRET", "ws")
    settings = load_settings(example)
    assert [s.id for s in settings.shops] == ["fietsen", "theewinkel"]


def test_policy_problems_are_named_once_with_their_path() -> None:
    raw = yaml.safe_load(yaml.safe_dump(GOOD))
    raw["policies"] = {"stale": {"unshipped_after": "two days"}, "next_day": {"cutof": "18:00"}}
    raw["shops"][1]["policies"] = {"review": {"after_delivery": "3 weeks"}}
    duration = "expected a duration like '2 working days', '4 working hours', '3 days' or '36 hours', got"
    assert problems(raw) == [
        f"policies.stale.unshipped_after: {duration} 'two days'",
        "policies.next_day.cutof: unknown key",
        f"shops[1].policies.review.after_delivery: {duration} '3 weeks'",
    ]


def test_policy_overrides_merge_per_shop() -> None:
    raw = yaml.safe_load(yaml.safe_dump(GOOD))
    raw["policies"] = {"next_day": {"cutoff": "18:00"}}
    raw["shops"][1]["policies"] = {"next_day": {"cutoff": "17:00"}}
    settings = settings_from_mapping(raw, env=ENV)
    assert str(settings.policies_for("winkel").next_day.cutoff) == "17:00:00"
    assert str(settings.policies_for("my-shop").next_day.cutoff) == "18:00:00"
    assert settings.policies_for("winkel").stale.enabled is True


def test_a_shop_installed_through_an_app_flow_gets_the_shared_policies() -> None:
    """Given a shop that is not in the file (installed via OAuth or the key exchange), its policies are the defaults."""
    raw = yaml.safe_load(yaml.safe_dump(GOOD))
    raw["policies"] = {"next_day": {"cutoff": "16:30"}}
    raw["shops"][1]["policies"] = {"next_day": {"cutoff": "17:00"}}
    settings = settings_from_mapping(raw, env=ENV)
    assert str(settings.policies_for("installed-shop").next_day.cutoff) == "16:30:00"
    assert settings.policies_for("installed-shop") == settings.policies_for(None)
    assert str(settings.policies_for("winkel").next_day.cutoff) == "17:00:00"  # a configured shop keeps its own


def test_every_settings_object_gets_its_own_policies() -> None:
    """Given many short-lived Settings objects (ids get reused), each one answers with its own configuration."""
    raw = yaml.safe_load(yaml.safe_dump(GOOD))
    wrong = []
    for minute in range(200):
        raw["policies"] = {"next_day": {"cutoff": f"17:{minute % 60:02d}"}}
        raw["shops"][1]["policies"] = {"next_day": {"cutoff": f"16:{minute % 60:02d}"}}
        settings = settings_from_mapping(raw, env=ENV)
        got = (
            str(settings.policies_for("my-shop").next_day.cutoff),
            str(settings.policies_for("winkel").next_day.cutoff),
        )
        if got != (f"17:{minute % 60:02d}:00", f"16:{minute % 60:02d}:00"):
            wrong.append((minute, got))
        del settings
    assert wrong == []


def test_a_copy_with_other_policies_does_not_share_the_merged_policies() -> None:
    settings = settings_from_mapping(GOOD, env=ENV)
    assert str(settings.policies_for("my-shop").next_day.cutoff) == "18:00:00"
    later = settings.model_copy(update={"policies": {"next_day": {"cutoff": "15:00"}}})
    assert str(later.policies_for("my-shop").next_day.cutoff) == "15:00:00"
    assert str(settings.policies_for("my-shop").next_day.cutoff) == "18:00:00"


@pytest.mark.parametrize(
    ("public_url", "expected"),
    [
        ("https://ordercare.example.nl", []),
        ("https://ordercare.example.nl:443/", []),
        ("https://ordercare.example.nl:8080", []),
        ("http://ordercare.example.nl", ["not https"]),
        ("http://ordercare.example.nl:80", ["not https"]),
        ("https://ordercare.example.nl:8443", ["port 8443"]),
        ("https://ordercare.example.nl:8081", ["port 8081"]),
        ("https://ordercare.example.nl:79", ["port 79"]),
        ("https://localhost", ["loopback or private"]),
        ("https://192.168.1.20", ["loopback or private"]),
        ("https://10.0.0.5:8080", ["loopback or private"]),
        ("https://93.184.216.34", []),
    ],
)
def test_woocommerce_shops_get_the_wordpress_delivery_rules(public_url: str, expected: list[str]) -> None:
    settings = settings_from_mapping({**GOOD, "public_url": public_url}, env=ENV)
    warnings = woocommerce_warnings(settings)
    assert len(warnings) == len(expected)
    for warning, words in zip(warnings, expected, strict=True):
        assert warning.startswith("public_url: ")
        assert words in warning


def test_a_shopify_only_configuration_gets_shopifys_rules_and_no_wordpress_port_rule() -> None:
    raw = {**GOOD, "public_url": "http://127.0.0.1:8000", "shops": [GOOD["shops"][0]], "secret_key": STRONG_KEY}
    settings = settings_from_mapping(raw, env=ENV)
    assert [shop.platform for shop in settings.shops] == ["shopify"]
    assert woocommerce_warnings(settings) == []
    assert config_warnings(settings) == [
        "public_url: http://127.0.0.1:8000 is not https; Shopify delivers webhooks and redirects installs to https "
        "URLs only, and webhook bodies would travel unencrypted",
        "public_url: 127.0.0.1 is a loopback or private address; Shopify cannot reach it",
    ]
    https = settings_from_mapping({**raw, "public_url": "https://ordercare.example.nl:8443"}, env=ENV)
    assert config_warnings(https) == []  # any port: only WordPress limits them


def test_the_wordpress_warnings_in_full() -> None:
    raw = {**GOOD, "public_url": "http://192.168.1.20:8000", "shops": [GOOD["shops"][1]], "secret_key": STRONG_KEY}
    assert config_warnings(settings_from_mapping(raw, env=ENV)) == [
        "public_url: http://192.168.1.20:8000 is not https; WooCommerce's key exchange refuses an http callback "
        '("The callback_url needs to be over SSL"), and webhook bodies would travel unencrypted',
        "public_url: port 8000; WordPress delivers webhooks only to ports 80, 443 and 8080, so every delivery would "
        'fail as "Delivery URL cannot be reached" while the webhook still shows active',
        "public_url: 192.168.1.20 is a loopback or private address; WordPress refuses to deliver webhooks to it "
        "unless the shop runs on the same host",
    ]


def test_no_shops_and_no_install_app_means_no_public_url_warnings() -> None:
    settings = settings_from_mapping({**GOOD, "shops": [], "secret_key": STRONG_KEY}, env=ENV)
    assert config_warnings(settings) == []
    with_app = {**GOOD, "shops": [], "secret_key": STRONG_KEY, "shopify_app": {"api_key": "k", "api_secret": "s"}}
    assert [w.split(";")[0] for w in config_warnings(settings_from_mapping(with_app, env=ENV))] == [
        "public_url: http://127.0.0.1:8000 is not https",
        "public_url: 127.0.0.1 is a loopback or private address",
    ]


def _one_shop(**changes: Any) -> Any:
    raw = {**GOOD, "public_url": "https://ordercare.example.nl", "shops": [GOOD["shops"][0]], "secret_key": STRONG_KEY}
    return settings_from_mapping({**raw, **changes}, env=ENV)


@pytest.mark.parametrize(
    ("email", "expected"),
    [
        ({}, []),  # localhost:25, the default: a relay on this host
        ({"smtp_host": "127.0.0.1"}, []),
        ({"smtp_host": "::1"}, []),
        ({"smtp_host": "smtp.example.nl", "security": "starttls", "username": "u", "password": "p"}, []),
        ({"smtp_host": "smtp.example.nl", "security": "ssl", "username": "u", "password": "p"}, []),
        ({"smtp_host": "smtp.example.nl", "security": "none", "username": "u"}, ["email.security: none"]),
        ({"smtp_host": "smtp.example.nl", "security": "starttls"}, ["email.username: not set"]),
        ({"smtp_host": "10.0.0.2"}, ["email.security: none", "email.username: not set"]),
    ],
)
def test_smtp_without_tls_or_sign_in_to_another_host_is_named(email: dict[str, Any], expected: list[str]) -> None:
    warnings = config_warnings(_one_shop(email=email))
    assert [w.split(" for ")[0] for w in warnings] == expected


def test_the_smtp_warnings_in_full() -> None:
    assert config_warnings(_one_shop(email={"smtp_host": "smtp.example.nl", "smtp_port": 587})) == [
        "email.security: none for smtp.example.nl:587; customers' names, addresses and fix links would cross the "
        "network unencrypted (use starttls or ssl)",
        "email.username: not set for smtp.example.nl; a mail server that relays without signing in is an open "
        "relay, and mail from it lands in spam",
    ]


def test_a_shop_without_its_own_sender_is_named_only_beside_other_shops() -> None:
    alone = _one_shop()
    assert alone.shops[0].sender is None
    assert config_warnings(alone) == []
    voiced = {**GOOD["shops"][0], "sender": "Fietsen <service@fietsen.nl>"}
    two = _one_shop(shops=[voiced, GOOD["shops"][1]], email={"sender": "ordercare <mail@ordercare.example.nl>"})
    assert config_warnings(two) == [
        "shops[1].sender: not set; winkel's customers get mail from the global email.sender "
        "(ordercare <mail@ordercare.example.nl>) and their replies go there"
    ]
    both = _one_shop(shops=[voiced, {**GOOD["shops"][1], "sender": "Winkel <hallo@winkel.nl>"}])
    assert config_warnings(both) == []


@pytest.mark.parametrize(
    ("key", "warned"),
    [
        (STRONG_KEY, False),
        ("k7Qw2Zr9Lp4Xv8Nc3Jt6Hy1Bm5Dg0Fs", True),  # 31 characters: one short
        ("k7Qw2Zr9Lp4Xv8Nc3Jt6Hy1Bm5Dg0Fs_x", False),
        ("abababababababababababababababababab", True),  # long but 2 different characters
        ("0123456789012345678901234567890123", False),  # 10 different: the floor
        ("0123456780123456780123456780123456", True),  # 9 different
    ],
)
def test_a_weak_secret_key_is_named(key: str, warned: bool) -> None:
    warnings = [w for w in config_warnings(_one_shop(secret_key=key)) if w.startswith("secret_key")]
    assert bool(warnings) is warned, warnings


@pytest.mark.parametrize(
    ("key", "weak"),
    [
        ("k7Qw2Zr9Lp4Xv8Nc3Jt6Hy1Bm5Dg0Fs", "31 characters, fewer than 32"),
        ("ab" * 20, "only 2 different characters, fewer than 10"),
        ("a" * 40, "only 1 different character, fewer than 10"),
        ("ab" * 8, "16 characters, fewer than 32 and only 2 different characters, fewer than 10"),
    ],
)
def test_the_secret_key_warning_says_what_is_weak(key: str, weak: str) -> None:
    assert config_warnings(_one_shop(secret_key=key)) == [
        f"secret_key: {weak}; it signs fix links and sessions and seals stored tokens, so use at least 32 random "
        'characters (python -c "import secrets; print(secrets.token_urlsafe(32))")'
    ]


def test_sqlite_with_several_web_processes_is_named() -> None:
    sqlite = _one_shop()
    assert config_warnings(sqlite, web_processes=1) == []
    assert config_warnings(sqlite, web_processes=2) == [
        "database_url: SQLite with 2 web processes; they queue for one write lock and deliveries time out at "
        "peaks (use PostgreSQL, or one web process)"
    ]
    postgres = _one_shop(database_url="postgresql+psycopg://ordercare@db.example.nl/ordercare")
    assert config_warnings(postgres, web_processes=4) == []


def test_check_config_reads_the_web_process_count_from_web_concurrency(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "one.yaml"
    path.write_text(
        yaml.safe_dump(
            {**GOOD, "public_url": "https://o.example.nl", "shops": [GOOD["shops"][0]], "secret_key": STRONG_KEY}
        )
    )
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    assert main(["check-config", str(path), "--strict"]) == 1
    assert capsys.readouterr().out.splitlines()[0].startswith("warning: database_url: SQLite with 3 web processes")
    assert main(["check-config", str(path), "--web-processes", "1"]) == 0
    assert capsys.readouterr().out == "ok\n"
