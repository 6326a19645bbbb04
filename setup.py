"""The build: the package pyproject.toml describes, with the parser's modules compiled to C by mypyc.

The parser reads every message posted where the bot listens, so its modules (``COMPILED``) are compiled: the same
code, type-checked as it is in CI, parses in one half to two thirds of the time. Compiling needs a C compiler and
Python's headers; without them, or with ``IAMWHY_PURE_PYTHON=1`` set, the modules are installed as the plain Python
they are and behave the same, only slower. An editable install (``pip install -e .``) builds the compiled modules
beside their sources; ``diagnostics/__init__.py`` loads them only while every one of those sources is the one it was
compiled from (see ``RECORD``), so an edited parser is never shadowed by an older build of it.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent
PACKAGE = "diagnostics"
# The modules a message passes through before anything is known to be a denial, and those they call per message.
COMPILED = ("arn", "formats", "operations", "parse", "secrets")
# Written beside the compiled modules: each one's name and the SHA-256 of the source it was compiled from.
RECORD = "compiled.json"


def _digest(name: str) -> str:
    return hashlib.sha256((ROOT / PACKAGE / f"{name}.py").read_bytes()).hexdigest()


class BuildCompiled(build_ext):
    """Builds the compiled modules, or none of them: a build that fails leaves the package plain Python."""

    def build_extensions(self) -> None:
        try:
            super().build_extensions()
        except Exception as error:  # the compiler's and distutils' errors share no base class but Exception
            self.warn(f"the parser is installed as plain Python: compiling it failed ({error})")
            self.extensions = []

    def run(self) -> None:
        digests = {name: _digest(name) for name in COMPILED}
        super().run()
        targets = [Path(self.build_lib) / PACKAGE]
        if self.inplace:
            targets.append(ROOT / PACKAGE)
        for target in targets:
            record = target / RECORD
            if self.extensions:
                target.mkdir(parents=True, exist_ok=True)
                record.write_text(json.dumps(digests, indent=2, sort_keys=True) + "\n", encoding="utf-8")
            else:
                record.unlink(missing_ok=True)


# The commands that build; pip runs this file for the metadata first, which needs no translation.
BUILDS = frozenset({"build", "build_ext", "bdist_wheel", "editable_wheel", "install", "develop"})


def _extensions() -> list[object]:
    if os.environ.get("IAMWHY_PURE_PYTHON", "") not in ("", "0") or not BUILDS & set(sys.argv[1:]):
        return []
    try:
        from mypyc.build import mypycify
    except ImportError:  # a build without the build requirements (setup.py run by hand)
        return []
    try:
        return list(mypycify([f"{PACKAGE}/{name}.py" for name in COMPILED], opt_level="3", group_name="iamwhy"))
    except (Exception, SystemExit) as error:  # mypy's type errors end in SystemExit
        print(f"the parser is installed as plain Python: mypyc could not translate it ({error})", file=sys.stderr)
        return []


# setuptools runs this file as __main__; tests import it for its constants.
if __name__ == "__main__":
    setup(ext_modules=_extensions(), cmdclass={"build_ext": BuildCompiled})
