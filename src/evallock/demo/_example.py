"""The bundled example project: the refund bot, its two prompts and its golden set.

``example/`` holds what ``evallock demo`` copies into a scratch directory:
``evallock.yaml``, ``golden.jsonl``, ``prompts/support-v3.txt`` (the good
prompt), ``prompts/support-v4.txt`` (better on consumer questions, wrong for
enterprise contracts) and a README telling the story.
"""

from __future__ import annotations

import pathlib
from importlib import resources

__all__ = ["example_dir"]


def example_dir() -> pathlib.Path:
    """The directory of the bundled example project, inside the installed package.

    Read it or copy it (``shutil.copytree``); never write into it.

    Raises:
        RuntimeError: the package is not installed as plain files (e.g. in a zip).
    """
    folder = resources.files("evallock.demo").joinpath("example")
    if not isinstance(folder, pathlib.Path):
        raise RuntimeError(f"the bundled example is not a directory on disk: {folder}")
    return folder
