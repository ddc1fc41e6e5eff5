"""``evallock demo``: the whole loop on the bundled example service, with the embedded store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["demo"]


def demo(
    workdir: Annotated[
        Path, typer.Option(help="Where the example project is copied (recreated).")
    ] = Path(".evallock/demo"),
    keep_serving: Annotated[
        bool,
        typer.Option(help="Leave evallock serve and its dashboard up at the end (Ctrl-C stops)."),
    ] = False,
    port: Annotated[
        int,
        typer.Option(min=0, max=65535, help="Port of the demo's evallock serve (0: a free one)."),
    ] = 0,
) -> int:
    """Tell the whole loop on the bundled refund bot, each step as the command you would type.

    v3 passes the gate; v4 wins offline on a golden set without enterprise
    contract cases; evallock serve records production traffic through its proxy;
    enterprise customers thumb v4 down; drift alerts on the enterprise slice;
    the thumbs-downs become candidates, are accepted and promoted as locks; the
    v4 gate now fails ("a fixed bug came back"); compare flags v4's enterprise
    slice as an offline win and an online loss; coverage shows the blind spot
    covered. Runs on the embedded SQLite store and the bundled fake model, in
    well under a minute. Exit 0 when every step did what the story says.

    Example: evallock demo --keep-serving
    """
    from evallock.cli._common import out_console
    from evallock.cli._story import Story

    return Story(
        workdir=workdir.resolve(), console=out_console(), port=port, keep_serving=keep_serving
    ).tell()
