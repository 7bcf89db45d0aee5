"""Accounts (owners only): the accounts of the owner's shops, adding, disabling, enabling and removing them;
and the password page every signed-in account has. The rules live in ``connector.admin.users``."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext

from connector.admin import users
from connector.admin.users import Account, AdminUserError
from connector.store.db import transaction
from webhooks.admin import bp
from webhooks.admin.auth import keep_session
from webhooks.admin.common import now, services, viewer


def _owner() -> Account:
    """The signed-in owner; staff get 403."""
    account = viewer().account
    if not account.is_owner:
        abort(403, description=gettext("Only an owner of the shop manages its accounts."))
    return account


def _shop_names(shop_ids: str) -> str:
    names = []
    for shop_id in shop_ids.split(", "):
        shop = viewer().shop(shop_id)
        names.append(shop.name if shop else shop_id)
    return ", ".join(names)


def _refusal(error: AdminUserError) -> str:
    """The dashboard's words for a refused account change."""
    fields, reason = error.fields, error.reason
    name = fields.get("name", "")
    if reason == "exists":
        text = gettext("There is already an account called %(name)s.", name=name)
    elif reason == "bad_username":
        text = gettext("A name starts with a letter or digit and uses only letters, digits and . _ @ + -")
    elif reason == "short_password":
        text = gettext("Use a password of at least %(count)s characters.", count=fields.get("count", ""))
    elif reason == "no_shop":
        text = gettext("Choose at least one shop the account may see.")
    elif reason == "unknown_shop":
        text = gettext("Choose shops from your own list.")
    elif reason == "bad_role":
        text = gettext("Choose owner or staff.")
    elif reason == "self":
        text = gettext("That is your own account: another owner can disable or remove it.")
    elif reason == "last_owner":
        text = gettext(
            "%(name)s is the last owner of %(shops)s who can sign in. Make another account an owner first.",
            name=name,
            shops=_shop_names(str(fields.get("shops", ""))),
        )
    elif reason == "wrong_password":
        text = gettext("The current password is not right. Nothing was changed.")
    elif reason == "same_password":
        text = gettext("Choose a new password that differs from the current one.")
    elif reason == "mismatch":
        text = gettext("The two new passwords differ. Nothing was changed.")
    elif reason == "shopify_account":
        text = gettext("This account signs in from the Shopify admin and has no password here.")
    else:
        text = gettext("That did not work")
    return str(text)


def _page(error: str | None = None, form: dict[str, object] | None = None, status: int = 200) -> ResponseReturnValue:
    owner = viewer().account
    with services().sessions() as db:
        accounts = users.managed_users(db, owner)
        signed_in = users.last_sign_ins(db, [a.username for a in accounts])
    return (
        render_template(
            "admin/accounts.html",
            accounts=accounts,
            signed_in=signed_in,
            me=owner,
            error=error,
            form=form or {"username": "", "role": users.STAFF, "shops": list(viewer().shop_ids)},
            min_length=users.MIN_PASSWORD_LENGTH,
        ),
        status,
    )


@bp.get("/accounts", endpoint="accounts")
def accounts_page() -> ResponseReturnValue:
    _owner()
    return _page()


@bp.post("/accounts", endpoint="add_account")
def add_account() -> ResponseReturnValue:
    owner = _owner()
    username = request.form.get("username", "").strip()
    role = request.form.get("role", "")
    chosen = request.form.getlist("shop")
    form: dict[str, object] = {"username": username, "role": role, "shops": chosen}
    try:
        if not role:
            raise AdminUserError("role: choose one", "bad_role", role=role)
        if not set(chosen) <= set(owner.shop_ids):
            raise AdminUserError("shop: not one of yours", "unknown_shop", shops=", ".join(chosen))
        with transaction(services().sessions) as db:
            added = users.add_user(db, username, request.form.get("password", ""), chosen, now(), role=role)
    except AdminUserError as error:
        return _page(_refusal(error), form, 400)
    flash(gettext("%(name)s can sign in now. Give them the password in person or by phone.", name=added.username))
    return redirect(url_for("admin.accounts"))


def _managed(account_id: int) -> Account:
    """An account the signed-in owner manages; 404 for any other."""
    owner = _owner()
    with services().sessions() as db:
        target = users.get_account(db, account_id)
    if target is None or not users.manages(owner, target):
        abort(404)
    return target


@bp.post("/accounts/<int:account_id>/disable", endpoint="disable_account")
def disable_account(account_id: int) -> ResponseReturnValue:
    target = _managed(account_id)
    try:
        with transaction(services().sessions) as db:
            users.disable_user(db, target.username, now(), actor=viewer().account)
    except AdminUserError as error:
        return _page(_refusal(error), status=400)
    flash(gettext("%(name)s is disabled and signed out everywhere.", name=target.username))
    return redirect(url_for("admin.accounts"))


@bp.post("/accounts/<int:account_id>/enable", endpoint="enable_account")
def enable_account(account_id: int) -> ResponseReturnValue:
    target = _managed(account_id)
    try:
        with transaction(services().sessions) as db:
            users.enable_user(db, target.username, now(), actor=viewer().account)
    except AdminUserError as error:
        return _page(_refusal(error), status=400)
    flash(gettext("%(name)s can sign in again.", name=target.username))
    return redirect(url_for("admin.accounts"))


@bp.post("/accounts/<int:account_id>/remove", endpoint="remove_account")
def remove_account(account_id: int) -> ResponseReturnValue:
    """First asks for confirmation; removes only when the confirmation form comes back."""
    target = _managed(account_id)
    if request.form.get("confirmed") != "yes":
        return render_template("admin/accounts.html", confirm=target)
    try:
        with transaction(services().sessions) as db:
            users.remove_user(db, target.username, now(), actor=viewer().account)
    except AdminUserError as error:
        return _page(_refusal(error), status=400)
    flash(gettext("%(name)s is removed and signed out everywhere.", name=target.username))
    return redirect(url_for("admin.accounts"))


@bp.route("/password", methods=["GET", "POST"], endpoint="password")
def password_page() -> ResponseReturnValue:
    if request.method == "GET":
        return render_template("admin/password.html", min_length=users.MIN_PASSWORD_LENGTH)
    new = request.form.get("new_password", "")
    try:
        if new != request.form.get("new_password_again", ""):
            raise AdminUserError("password: the two entries differ", "mismatch")
        with transaction(services().sessions) as db:
            current = request.form.get("current_password", "")
            changed = users.change_password(db, viewer().account.id, current, new, now())
    except AdminUserError as error:
        page = render_template("admin/password.html", min_length=users.MIN_PASSWORD_LENGTH, error=_refusal(error))
        return page, 400
    keep_session(changed)
    flash(gettext("Your password is changed. Other browsers signed in with this account are signed out."))
    return redirect(url_for("admin.password"))
