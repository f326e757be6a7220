"""The exception tree: drawn once, in ARCHITECTURE.md, and equal to the classes the code defines.

The tree is built from ``ConvRecError.__subclasses__()`` after importing every module of the
project, so a new error class fails this test until it is drawn, and a removed one until it is
erased. Each class says when it is raised.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

from profiling.errors import ConvRecError

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("profiling", "planners", "agents", "engine", "recommender")
# Written before "Raised when" was the house style, in profiling/ (being rewritten elsewhere).
OTHER_WORDING = {"ConvRecError", "WrongFormatError"}


def _project_errors() -> dict[str, tuple[str, str]]:
    """Class name -> (parent name, module) of every ConvRecError subclass the project defines."""
    for pkg in PACKAGES:
        for info in pkgutil.walk_packages(importlib.import_module(pkg).__path__, pkg + "."):
            if not info.name.endswith("__main__"):
                importlib.import_module(info.name)
    out: dict[str, tuple[str, str]] = {}

    def walk(cls: type[BaseException]) -> None:
        for sub in cls.__subclasses__():
            if sub.__module__.split(".")[0] in PACKAGES:
                assert sub.__name__ not in out, f"two error classes named {sub.__name__}"
                out[sub.__name__] = (cls.__name__, sub.__module__)
                walk(sub)

    walk(ConvRecError)
    return out


def _drawn() -> dict[str, tuple[str, str]]:
    """Class name -> (parent name, module) as ARCHITECTURE.md draws them."""
    text = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    block = text.split("## Errors", 1)[1].split("```text\n", 1)[1].split("```", 1)[0]
    out: dict[str, tuple[str, str]] = {}
    parents: list[str] = []
    for line in block.splitlines()[1:]:
        m = re.match(r"^((?:[│ ]   )*)[├└]── (\w+)\s+([\w.]+)$", line)
        assert m, f"not a tree line: {line!r}"
        depth = len(m.group(1)) // 4
        parents = parents[:depth]
        out[m.group(2)] = (parents[-1] if parents else "ConvRecError", m.group(3))
        parents.append(m.group(2))
    return out


def test_the_drawn_tree_is_the_tree_of_the_code() -> None:
    assert _drawn() == _project_errors()


def test_every_error_says_when_it_is_raised() -> None:
    errors = _project_errors()
    classes = {ConvRecError.__name__: ConvRecError}
    for name, (_, module) in errors.items():
        classes[name] = getattr(importlib.import_module(module), name)
    for name, cls in classes.items():
        doc = cls.__doc__ or ""
        expected = "Raised" if name in OTHER_WORDING else "Raised when"
        assert doc.startswith(expected), f"{name}: {doc[:60]!r} should start with {expected!r}"
