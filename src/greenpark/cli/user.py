"""`greenpark user add|list|revoke|token|password|purge-sessions`: accounts of the server (stored in the store).

These commands write the store, so they run while `greenpark serve` is stopped; while it runs,
park admins manage users through the API (POST /api/v1/users, /api/v1/tokens).
"""

from __future__ import annotations

import datetime as dt
import sys
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from greenpark.cli.app import app
from greenpark.cli.common import (
    DbOpt,
    Format,
    FormatOpt,
    ParkOpt,
    UserError,
    console,
    dumps_json,
    friendly_errors,
    header,
    lab,
    load_park,
    msg,
    park_store,
)
from greenpark.services import users

user_app = typer.Typer(rich_markup_mode=None, help="Users, roles and API tokens of 'greenpark serve'.", no_args_is_help=True)
app.add_typer(user_app, name="user")


SERVER_HINT = "If 'greenpark serve' is running, stop it first or manage users through the API (POST /api/v1/users)."


def _password(stdin: bool) -> str:
    if stdin:
        pw = sys.stdin.readline().rstrip("\r\n")
        if not pw:
            raise UserError("--password-stdin: no password on standard input")
        return pw
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)


@user_app.command("add")
@friendly_errors
def add(
    username: Annotated[str, typer.Argument(help="Login name.")],
    role: Annotated[str, typer.Option(help="park_admin, enterprise, auditor or device.")],
    enterprise: Annotated[str | None, typer.Option(help="The enterprise an enterprise (or device) user is bound to.")] = None,
    meter: Annotated[list[str] | None, typer.Option(help="A meter a device may push for (repeat the option).")] = None,
    password_stdin: Annotated[bool, typer.Option(help="Read the password from standard input.")] = False,
    no_password: Annotated[bool, typer.Option(help="No password: API tokens only.")] = False,
    token: Annotated[str | None, typer.Option(help="Also issue an API token with this name; printed once.")] = None,
    park: ParkOpt = None,
    db: DbOpt = None,
) -> None:
    """Add a user. Devices get no password: give --token NAME to issue their API token."""
    if role not in users.ROLES:
        raise UserError(f"--role {role}: use one of {', '.join(users.ROLES)}")
    p = load_park(park)
    password = None if (role == "device" or no_password) else _password(password_stdin)
    if role == "device" and not token:
        console.print("[yellow]note:[/] a device authenticates with an API token only; issue one with "
                      f"'greenpark user token {username} --name NAME'", highlight=False)
    who = users.cli_principal()
    with park_store(p, db, read_only=False, hint=SERVER_HINT) as (p, store), store.transaction() as con:
        try:
            user = users.add_user(con, p, username, role, enterprise_id=enterprise, meters=meter or None,
                                     password=password, created_by=who.username)
        except users.AccountError as exc:
            raise UserError(str(exc)) from None
        users.audit(con, who, "user.add", f"user {username}", after=user, enterprise_id=enterprise)
        secret = None
        if token:
            secret, row = users.create_token(con, username, token)
            users.audit(con, who, "token.create", f"token {row['token_id']} of {username}", after=row)
    console.print(f"added user [bold]{username}[/] ({role}" + (f", enterprise {enterprise}" if enterprise else "") + ")",
                  highlight=False)
    if secret:
        console.print(f"API token (shown once, store it now): [bold]{secret}[/]", highlight=False, soft_wrap=True)


@user_app.command("token")
@friendly_errors
def token_cmd(
    username: Annotated[str, typer.Argument(help="The user the token is for.")],
    name: Annotated[str, typer.Option(help="What or where the token is used (e.g. 'gateway 3').")],
    expires_days: Annotated[int | None, typer.Option(help="Expire after this many days.")] = None,
    park: ParkOpt = None,
    db: DbOpt = None,
) -> None:
    """Issue an API token (printed once)."""
    p = load_park(park)
    who = users.cli_principal()
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(days=expires_days) if expires_days else None
    with park_store(p, db, read_only=False, hint=SERVER_HINT) as (p, store), store.transaction() as con:
        try:
            secret, row = users.create_token(con, username, name, expires_at=expires)
        except users.AccountError as exc:
            raise UserError(str(exc)) from None
        users.audit(con, who, "token.create", f"token {row['token_id']} of {username}", after=row)
    console.print(f"token {row['token_id']} for {username}: [bold]{secret}[/] (shown once, store it now)",
                  highlight=False, soft_wrap=True)


@user_app.command("password")
@friendly_errors
def password_cmd(
    username: Annotated[str, typer.Argument(help="The user whose password is set.")],
    password_stdin: Annotated[bool, typer.Option(help="Read the password from standard input.")] = False,
    park: ParkOpt = None,
    db: DbOpt = None,
) -> None:
    """Set a user's password."""
    p = load_park(park)
    pw = _password(password_stdin)
    who = users.cli_principal()
    with park_store(p, db, read_only=False, hint=SERVER_HINT) as (p, store), store.transaction() as con:
        try:
            ended = users.set_password(con, username, pw)
        except users.AccountError as exc:
            raise UserError(str(exc)) from None
        users.audit(con, who, "user.password", f"user {username}", after={"sessions_ended": ended})
    console.print(f"password of {username} set; {ended} browser session(s) ended", highlight=False)


@user_app.command("list")
@friendly_errors
def list_cmd(park: ParkOpt = None, db: DbOpt = None, format: FormatOpt = Format.table) -> None:
    """Users and their API tokens (the tokens themselves are never shown again)."""
    with park_store(park, db) as (_, store):
        user_rows = users.list_users(store.con)
        tokens = users.list_tokens(store.con)
    if format == Format.json:
        typer.echo(dumps_json({"users": user_rows, "tokens": tokens}))
        return
    if format == Format.csv:
        from greenpark.cli.common import write_csv

        write_csv(user_rows)
        return
    t = Table(title=msg("cli.user.users"))
    for c in ("user", "role", "enterprise", "meters", "password", "created", "revoked"):
        t.add_column(escape(header(c)))
    for u in user_rows:
        t.add_row(u["username"], lab("role", u["role"]), u["enterprise_id"] or "—",
                  ", ".join(u["meters"]) if u["meters"] else "—",
                  msg("cli.yes") if u["has_password"] else msg("cli.no"), str(u["created_at"])[:19],
                  str(u["revoked_at"])[:19] if u["revoked_at"] else "—")
    console.print(t)
    tt = Table(title=msg("cli.user.tokens"))
    for c in ("id", "user", "name", "prefix", "created", "expires", "revoked"):
        tt.add_column(escape(header(c)))
    for k in tokens:
        tt.add_row(str(k["token_id"]), k["username"], k["name"], k["prefix"] + "…", str(k["created_at"])[:19],
                   str(k["expires_at"])[:19] if k["expires_at"] else "—",
                   str(k["revoked_at"])[:19] if k["revoked_at"] else "—")
    console.print(tt)


@user_app.command("revoke")
@friendly_errors
def revoke(
    username: Annotated[str | None, typer.Argument(help="Revoke this user, its tokens and sessions.")] = None,
    token: Annotated[int | None, typer.Option(help="Revoke only this API token (id from 'greenpark user list').")] = None,
    park: ParkOpt = None,
    db: DbOpt = None,
) -> None:
    """Revoke a user (with its tokens and sessions) or one API token."""
    if (username is None) == (token is None):
        raise UserError("give a USERNAME or --token ID (not both)")
    p = load_park(park)
    who = users.cli_principal()
    with park_store(p, db, read_only=False, hint=SERVER_HINT) as (p, store), store.transaction() as con:
        try:
            if token is not None:
                before, after = users.revoke_token(con, token)
                users.audit(con, who, "token.revoke", f"token {token} of {before['username']}", before=before,
                               after=after)
            else:
                before, after = users.revoke_user(con, username)
                users.audit(con, who, "user.revoke", f"user {username}", before=before, after=after,
                               enterprise_id=after["enterprise_id"])
        except users.AccountError as exc:
            raise UserError(str(exc)) from None
    console.print(f"revoked {'token ' + str(token) if token is not None else 'user ' + username}", highlight=False)


@user_app.command("purge-sessions")
@friendly_errors
def purge_sessions_cmd(
    token_retention_days: Annotated[float, typer.Option(
        help="Delete API tokens that expired or were revoked more than this many days ago.")] = 90.0,
    park: ParkOpt = None,
    db: DbOpt = None,
) -> None:
    """Delete ended browser sessions (expired or revoked) and long-dead API tokens.

    'greenpark serve' does this itself at start and every hour; the command is for stores that
    no server runs on. The audit log keeps the logins, logouts and revocations.
    """
    if token_retention_days < 0:
        raise UserError(f"--token-retention-days {token_retention_days}: use 0 or more days")
    p = load_park(park)
    who = users.cli_principal()
    with park_store(p, db, read_only=False, hint=SERVER_HINT) as (p, store), store.transaction() as con:
        counts = users.purge_sessions(con, token_retention=dt.timedelta(days=token_retention_days))
        if any(counts.values()):
            users.audit(con, who, "sessions.purge", "sessions and tokens", after=counts)
    console.print(f"deleted {counts['sessions']} ended session(s) and {counts['tokens']} API token(s) that ended "
                  f"more than {token_retention_days:g} days ago", highlight=False)
