"""`casework users` and `casework tokens`, and who a command acts as: `--actor` and `--role`
name a user and one of the roles the user holds, unless `--as-operator` says the operator acts
on their own authority (then the history records the actor 'operator' and marks every event)."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.table import Table

from engine.cases.runtime import Actor
from engine.cli.support import F, common, fail, handles_errors, opened, out
from engine.kernel.accounts import User
from engine.kernel.notifications import NotificationKind
from engine.kernel.roles import ROLES
from engine.wiring import Casework

OPERATOR = "operator"  # the actor name the history records for --as-operator


def actor_options(func: F) -> F:
    func = click.option("--as-operator", is_flag=True,
                        help="Act on the operator's own authority, not as a user: recorded as "
                             f"'{OPERATOR}', each event marked (leave out --actor)")(func)
    func = click.option("--role", required=True, type=click.Choice(sorted(ROLES)),
                        help="The role the actor acts in")(func)
    func = click.option("--actor", help="Who acts: a user holding --role (casework users "
                                        "list)")(func)
    return func


def acting(casework: Casework, actor: str | None, role: str, as_operator: bool) -> Actor:
    """The actor a command fires as: a known, active user in a role they hold, or the
    operator. Exits 2, saying what to give, otherwise."""
    if as_operator:
        if actor is not None:
            fail(f"--as-operator acts as '{OPERATOR}'; leave out --actor {actor}", 2)
        return Actor(OPERATOR, role, operator=True)
    if actor is None:
        fail("say who acts: --actor NAME (a user; casework users list), or --as-operator", 2)
    user = casework.accounts.user(actor)
    if user is None:
        fail(f"there is no user '{actor}'; add one (casework users add {actor} --role {role}) "
             "or act as the operator (--as-operator)", 2)
    if not user.active:
        fail(f"user '{actor}' is not active; act as an active user, or as the operator "
             "(--as-operator)", 2)
    if role not in user.roles:
        held = ", ".join(user.roles) or "no role"
        fail(f"user '{actor}' does not hold role '{role}' (holds: {held}); act in a role the "
             "user holds, or as the operator (--as-operator)", 2)
    return Actor(actor, role)


@click.group()
def users() -> None:
    """People who work cases."""


@users.command("add")
@click.argument("name")
@click.option("--role", "roles", multiple=True, required=True, type=click.Choice(sorted(ROLES)))
@click.option("--display-name")
@click.option("--email", help="Where notifications (assignments, SLA escalations) are mailed")
@click.option("--password", help="To sign in to the web pages (at least 8 characters); "
              "without it the user cannot sign in until `casework users password` sets one")
@common
@handles_errors
def users_add(name: str, roles: tuple[str, ...], display_name: str | None, email: str | None,
              password: str | None, home: Path | None, now_text: str | None) -> None:
    """Add a user holding one or more roles."""
    with opened(home, now_text) as casework:
        casework.administration.add_user(name, roles, OPERATOR, casework.settings.clock(),
                                         display_name, email, password)
    click.echo(f"added {name} ({', '.join(sorted(set(roles)))})")


@users.command("list")
@click.option("--role", type=click.Choice(sorted(ROLES)),
              help="Only the active users holding this role")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON list")
@common
@handles_errors
def users_list(role: str | None, as_json: bool, home: Path | None,
               now_text: str | None) -> None:
    """List the users: name, roles, display name, email and whether the account is active."""
    with opened(home, now_text) as casework:
        found = casework.accounts.users(role)
    if as_json:
        click.echo(json.dumps([_user_json(u) for u in found], ensure_ascii=False))
        return
    table = Table(title=f"{len(found)} user(s)" + (f" holding {role}" if role else ""))
    for column in ("name", "roles", "display name", "email", "active"):
        table.add_column(column)
    for user in found:
        table.add_row(user.name, ", ".join(user.roles), user.display_name or "-",
                      user.email or "-", "yes" if user.active else "no")
    out.print(table)


def _user_json(user: User) -> dict[str, object]:
    return {"name": user.name, "roles": list(user.roles), "display_name": user.display_name,
            "email": user.email, "active": user.active}


@users.command("password")
@click.argument("name")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="The new password (asked for when not given)")
@common
@handles_errors
def users_password(name: str, password: str, home: Path | None, now_text: str | None) -> None:
    """Set a user's password for signing in to the web pages (their sessions end)."""
    with opened(home, now_text) as casework:
        casework.administration.set_password(name, OPERATOR, casework.settings.clock(),
                                             password)
    click.echo(f"password of {name} set")


@users.command("disable")
@click.argument("name")
@common
@handles_errors
def users_disable(name: str, home: Path | None, now_text: str | None) -> None:
    """Disable a user: signed out at once, sign-in and API tokens refused (the last active
    admin who can sign in cannot be disabled)."""
    with opened(home, now_text) as casework:
        casework.administration.set_active(name, False, OPERATOR, casework.settings.clock())
    click.echo(f"disabled {name}")


@users.command("enable")
@click.argument("name")
@common
@handles_errors
def users_enable(name: str, home: Path | None, now_text: str | None) -> None:
    """Enable a disabled user again."""
    with opened(home, now_text) as casework:
        casework.administration.set_active(name, True, OPERATOR, casework.settings.clock())
    click.echo(f"enabled {name}")


@users.command("unlock")
@click.argument("name")
@common
@handles_errors
def users_unlock(name: str, home: Path | None, now_text: str | None) -> None:
    """Lift the sign-in lock of an account name (locked after too many failed sign-ins) and
    forget its failures; recorded in the security log."""
    with opened(home, now_text) as casework:
        was = casework.sign_ins.unlock(name, OPERATOR, casework.settings.clock())
    click.echo(f"unlocked {name}" if was else f"{name} was not locked; its failures are "
               "forgotten")


@users.command("security-log")
@click.option("--name", help="Only the events of this account name")
@click.option("--limit", type=click.IntRange(1, 100_000), default=50, show_default=True,
              help="How many of the latest events")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON list")
@common
@handles_errors
def users_security_log(name: str | None, limit: int, as_json: bool, home: Path | None,
                       now_text: str | None) -> None:
    """The latest sign-in events, newest first: succeeded, failed, throttled, locked,
    unlocked, signed out, with name, client address and browser."""
    with opened(home, now_text) as casework:
        found = casework.sign_ins.events(name, limit)
    if as_json:
        click.echo(json.dumps([{"at": e.at.isoformat(), "kind": e.kind.value, "name": e.name,
                                "client": e.client, "user_agent": e.user_agent,
                                "detail": e.detail} for e in found], ensure_ascii=False))
        return
    table = Table(title=f"{len(found)} event(s)" + (f" of {name}" if name else ""))
    for column in ("at", "event", "name", "client", "browser", "detail"):
        table.add_column(column)
    for event in found:
        table.add_row(event.at.isoformat(timespec="seconds"), event.kind.value,
                      event.name or "-", event.client or "-", event.user_agent or "-",
                      event.detail or "")
    out.print(table)


KINDS = [kind.value for kind in NotificationKind]


@users.command("notifications")
@click.argument("name")
@click.option("--email", "on", multiple=True, type=click.Choice(KINDS),
              help="A kind of notification that is also mailed to the user (repeatable)")
@click.option("--no-email", "off", multiple=True, type=click.Choice(KINDS),
              help="A kind that shows in the app only (repeatable)")
@common
@handles_errors
def users_notifications(name: str, on: tuple[str, ...], off: tuple[str, ...],
                        home: Path | None, now_text: str | None) -> None:
    """Show, or change, which kinds of notification reach a user by email as well as in the
    app (the rest keep their setting: the user's own choice, else the default)."""
    if set(on) & set(off):
        fail(f"--email and --no-email both name {', '.join(sorted(set(on) & set(off)))}; "
             "say one of them", 2)
    with opened(home, now_text) as casework:
        if casework.store.user_roles(name) is None:
            fail(f"there is no user '{name}' (casework users list)", 2)
        wanted = {NotificationKind(k): True for k in on} | {NotificationKind(k): False
                                                            for k in off}
        if wanted:
            casework.notifications.choose_email(name, wanted)
        chosen = casework.notifications.email_choices(name)
    for kind, email in chosen.items():
        click.echo(f"{kind.value}: {'email and app' if email else 'app only'}")


@click.group()
def tokens() -> None:
    """API tokens: how other systems call /api as a user."""


@tokens.command("create")
@click.argument("name")
@click.option("--label", help="What the token is for, e.g. the calling system")
@common
@handles_errors
def tokens_create(name: str, label: str | None, home: Path | None, now_text: str | None) -> None:
    """Make an API token for a user and print it (it is shown only this once)."""
    with opened(home, now_text) as casework:
        secret = casework.administration.create_token(name, label, OPERATOR,
                                                      casework.settings.clock())
    click.echo(secret.value)


@tokens.command("revoke")
@click.argument("name")
@common
@handles_errors
def tokens_revoke(name: str, home: Path | None, now_text: str | None) -> None:
    """Revoke every API token of a user."""
    with opened(home, now_text) as casework:
        administration = casework.administration
        if casework.accounts.user(name) is None:
            fail(f"there is no user '{name}'", 2)
        live = [t for t in administration.tokens(name) if t.revoked_at is None]
        for token in live:
            administration.revoke_token(token.id, OPERATOR, casework.settings.clock())
    click.echo(f"revoked {len(live)} token(s) of {name}")
