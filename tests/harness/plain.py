"""A module of the package as plain Python, for a test that replaces the module's own functions or classes.

The build may compile some modules (see setup.py), and a compiled module calls its own functions and classes
directly: replacing one from a test changes nothing it does. Such tests use a copy of the module loaded from its
source under a name of its own. The copy imports the package's other modules as every module does, so only its own
code is plain Python; it is the same source, so what the test shows of it holds for the compiled module too.
"""

from __future__ import annotations

import functools
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import diagnostics

PACKAGE = Path(diagnostics.__file__).resolve().parent


@functools.cache
def plain_module(name: str) -> ModuleType:
    """``diagnostics.<name>`` loaded from its source as the module ``plain_diagnostics_<name>``."""
    module_name = f"plain_diagnostics_{name}"
    spec = importlib.util.spec_from_file_location(module_name, PACKAGE / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # In sys.modules before it runs, as an import puts it: dataclasses look a class's module up there.
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module
