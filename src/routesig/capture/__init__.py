"""Capture: model + prompts -> the experts each token really used (see :mod:`routesig.capture.engine`).

Importing any ``routesig.capture.*`` module makes Python bind this package to the attribute ``capture`` of
``routesig``, replacing the :func:`routesig.capture` function. The package is therefore made callable with
the same signature, so ``routesig.capture(...)`` works whatever was imported first.
"""

from __future__ import annotations

import sys
import types
from typing import Any


class _CallablePackage(types.ModuleType):
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from routesig.capture.engine import capture

        return capture(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage
