"""`flask --app app create-user ...` and `flask --app app create-token ...`."""
from __future__ import annotations

import click

from store import audit
from store.users import ROLES, create_token, create_user, get_user_by_email


def register_cli(server) -> None:
    db = server.extensions["ishikawa.db"]

    @server.cli.command("create-user")
    @click.argument("email")
    @click.option("--org", required=True, help="organisation code or name, e.g. kaga or 加賀市")
    @click.option("--role", required=True, type=click.Choice(ROLES), help="admin (all) or editor (own org)")
    @click.option("--password", default=None, help="prompted (hidden) when not given")
    def create_user_cmd(email, org, role, password):
        """Add a staff user."""
        if password is None:
            password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        try:
            with db.session() as s:
                user = create_user(s, email, password, org, role)
                audit.record(s, None, "user.create", f"user:{user.id}", user.email, user.organisation_id, email="(cli)", via="cli", detail={"role": role})  # noqa: E501
                click.echo(f"created {user.email} ({role}, {org})")
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None

    @server.cli.command("create-token")
    @click.argument("email")
    @click.option("--name", default="", help="a note on what the token is for")
    def create_token_cmd(email, name):
        """Make an API token for a user; the token is the last line printed (shown only once)."""
        with db.session() as s:
            user = get_user_by_email(s, email)
            if user is None:
                raise click.ClickException(f"no such user: {email}")
            token = create_token(s, user, name)
            audit.record(s, None, "token.create", f"user:{user.id}", name, user.organisation_id, email=user.email, via="cli")  # noqa: E501
        click.echo(f"API token for {user.email} (keep it secret; it is not shown again):", err=True)
        click.echo(token)
