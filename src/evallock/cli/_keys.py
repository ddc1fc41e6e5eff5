"""``evallock keys``: create, list and revoke the API keys of ``evallock serve``."""

from __future__ import annotations

from typing import Annotated

import typer

from evallock.cli._options import ConfigOption, StoreOption

__all__ = ["keys_app"]

keys_app = typer.Typer(
    name="keys",
    help=(
        "API keys for evallock serve: scope ingest (send traces, feedback, use the proxy), "
        "read (GET /api/*) or admin (both). Keys are shown once and stored hashed.\n\n"
        "Example: evallock keys create --name checkout-bot --scope ingest"
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)


@keys_app.command("create")
def create(
    scope: Annotated[str, typer.Option(help="ingest, read or admin.")],
    name: Annotated[
        str, typer.Option(help="What the key is for (shown by keys list).")
    ] = "default",
    store: StoreOption = None,
    config: ConfigOption = None,
) -> int:
    """Create a key and print it once: only its SHA-256 hash is stored.

    The key goes on stdout alone (so `KEY=$(evallock keys create …)` works); its id
    and scope go to stderr.

    Example: evallock keys create --name checkout-bot --scope ingest
    """
    from evallock.cli._common import err_console, load, open_store_for
    from evallock.server import create_api_key

    opened = open_store_for(load(config, store))
    try:
        created = create_api_key(opened, name=name, scope=scope)
    finally:
        opened.close()
    typer.echo(created.secret)
    err_console().print(
        f"created {created.key_id} (scope {created.scope}); this is the only time the key "
        "is shown: keep it in a secret store",
        markup=False,
    )
    return 0


@keys_app.command("list")
def list_keys(store: StoreOption = None, config: ConfigOption = None) -> int:
    """List keys: id, name, scope, created, revoked (never the keys themselves).

    Example: evallock keys list --store sqlite:///.evallock/evallock.db
    """
    from rich.table import Table

    from evallock.cli._common import load, open_store_for, out_console
    from evallock.report.terminal import safe_text

    opened = open_store_for(load(config, store))
    try:
        keys = opened.api_keys.all()
    finally:
        opened.close()
    console = out_console()
    if not keys:
        console.print(
            "no API keys: create one with evallock keys create --scope ingest", markup=False
        )
        return 0
    table = Table("id", "name", "scope", "created", "revoked")
    for key in keys:
        table.add_row(
            safe_text(key.key_id),
            safe_text(key.name),
            safe_text(key.scope),
            key.created_at.strftime("%Y-%m-%d %H:%M:%S"),
            key.revoked_at.strftime("%Y-%m-%d %H:%M:%S") if key.revoked_at else "",
        )
    console.print(table)
    return 0


@keys_app.command("revoke")
def revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id, from keys list.")],
    store: StoreOption = None,
    config: ConfigOption = None,
) -> int:
    """Revoke a key: requests with it get 401 (a running server notices within seconds).

    Example: evallock keys revoke key_3f9a1c2e4b5d6a7f
    """
    from evallock.cli._common import load, open_store_for, out_console
    from evallock.errors import UsageError

    opened = open_store_for(load(config, store))
    try:
        revoked = opened.api_keys.revoke(key_id)
    finally:
        opened.close()
    if not revoked:
        raise UsageError(f"no active key {key_id!r} (see evallock keys list)")
    out_console().print(f"revoked {key_id}", markup=False)
    return 0
