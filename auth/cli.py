"""`flask --app app create-user ...`, `create-token ...` and `create-organisation ...`."""
from __future__ import annotations

import click

from store import audit
from store.organisations import OrganisationError, boundary_names, create_organisation
from store.users import ROLES, create_token, create_user, get_user_by_email


def register_cli(server) -> None:
    db = server.extensions["ishikawa.db"]

    @server.cli.command("create-user")
    @click.argument("email")
    @click.option("--org", required=True, help="organisation code or name, e.g. kaga or 加賀市")
    @click.option("--role", required=True, type=click.Choice(ROLES),
                  help="admin (all organisations), org_admin (manages own organisation), editor, viewer")
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

    @server.cli.command("create-organisation")
    @click.argument("code")
    @click.option("--name", required=True, help="name in Japanese, e.g. 七尾市")
    @click.option("--name-en", default="", help="name in English, e.g. Nanao City")
    @click.option("--boundary", default="", help="one of the shipped municipal outlines, e.g. 七尾市 "
                                                  "(its default map frame); none: the whole prefecture")
    def create_organisation_cmd(code, name, name_en, boundary):
        """Add an organisation (code: lower-case letters, digits, -)."""
        from i18n import t

        try:
            with db.session() as s:
                org = create_organisation(s, code, name, name_en, boundary)
                click.echo(f"created organisation {org.code} ({org.name_ja}, boundary: {org.boundary or '-'})")
        except OrganisationError as exc:
            extra = f" (one of: {', '.join(boundary_names())})" if exc.field == "boundary" else ""
            raise click.ClickException(t(exc.key, "en") + extra) from None
