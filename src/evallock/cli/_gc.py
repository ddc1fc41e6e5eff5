"""The cyclic garbage collector in a short-lived ``evallock`` process.

Start-up imports make some 80,000 long-lived objects (modules, classes,
functions). The collector walks them again and again while they are made
(about 50 ms of a one-case ``run``) and once more at interpreter exit (about
130 ms), to free next to nothing. So, only when ``main`` is the program (the
console script, ``python -m evallock.cli.main``):

* ``run`` and ``ab`` collect nothing during their start-up, then, as the cases start,
  freezes what start-up made (later full collections skip it) and collects as
  usual for the rest of the run: memory still stays flat with the cases;
* every command freezes everything on its way out, so the exit collection has
  nothing to walk; the process is ending and the system takes its memory back.

A caller that passes ``argv`` to ``main`` (tests, a program embedding evallock)
keeps its collector untouched.
"""

from __future__ import annotations

import gc

__all__ = ["exiting", "pause", "resume"]

_paused = False


def pause() -> None:
    """Collect nothing until :func:`resume`: start-up makes objects that live on."""
    global _paused
    if gc.isenabled():
        gc.disable()
        _paused = True


def resume() -> None:
    """The real work starts: freeze what start-up made and collect again (no-op unpaused)."""
    global _paused
    if _paused:
        gc.freeze()
        gc.enable()
        _paused = False


def exiting() -> None:
    """Skip the collection at interpreter exit: freeze every object still alive."""
    gc.freeze()
