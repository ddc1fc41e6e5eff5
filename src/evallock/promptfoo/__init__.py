"""promptfoo configs brought over: ``promptfooconfig.yaml`` read into evallock cases and settings.

:func:`import_promptfoo` reads a config (``_config``); its assertions map onto evallock's
checks and judge in ``_checks``.
"""

from evallock.promptfoo._checks import ASSERTIONS
from evallock.promptfoo._config import PromptfooImport, import_promptfoo

__all__ = ["ASSERTIONS", "PromptfooImport", "import_promptfoo"]
