"""The allowlist: approved packages (``requirements-sandbox.txt``) and the standard-library modules user code may import."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

REQUIREMENTS_FILE = Path(__file__).resolve().parent.parent / "requirements-sandbox.txt"

# Import names of approved distributions whose import name differs from the normalised distribution name.
_IMPORT_NAMES = {"python-dateutil": "dateutil", "typing-extensions": "typing_extensions", "interface-meta": "interface_meta"}

# Standard-library modules for numerical code. Anything else (os, sys, io, ctypes, socket, subprocess,
# threading, multiprocessing, importlib, builtins, gc, inspect, pickle, marshal, ...) is refused at import.
STDLIB_MODULES: frozenset[str] = frozenset(
    {
        "__future__", "abc", "array", "bisect", "calendar", "cmath", "collections", "contextlib", "copy",
        "dataclasses", "datetime", "decimal", "enum", "fractions", "functools", "hashlib", "heapq", "itertools",
        "json", "math", "numbers", "operator", "random", "re", "statistics", "string", "textwrap", "time",
        "types", "typing", "unicodedata", "warnings", "zoneinfo",
    }
)

_LINE = re.compile(r"^\s*(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*(?P<version>[^\s#;]+)\s*(?:#\s*(?P<comment>.*))?$")
_REQUIREMENT = re.compile(r"^\s*(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:(?P<op>==|>=|<=|~=|!=|>|<)\s*(?P<version>[A-Za-z0-9.*+!-]+))?\s*$")


@dataclass(frozen=True)
class Pin:
    """One pinned line of requirements-sandbox.txt."""

    name: str
    version: str
    approved: bool

    @property
    def requirement(self) -> str:
        return f"{self.name}=={self.version}"


def normalise(name: str) -> str:
    """PEP 503 normalisation: ``Python_Dateutil`` and ``python-dateutil`` are one package."""
    return re.sub(r"[-_.]+", "-", name).lower()


def parse_pins(text: str) -> list[Pin]:
    """Read pinned lines; a comment starting with ``via`` marks a dependency rather than an approved package."""
    pins = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        match = _LINE.match(raw)
        if not match:
            raise ValueError(f"Line {number} of requirements-sandbox.txt is not 'name==version  # comment': {raw!r}.")
        comment = (match["comment"] or "").strip()
        pins.append(Pin(normalise(match["name"]), match["version"], approved=not comment.startswith("via")))
    return pins


@functools.lru_cache(maxsize=1)
def pins() -> tuple[Pin, ...]:
    """Every pinned package of the sandbox environment."""
    return tuple(parse_pins(REQUIREMENTS_FILE.read_text(encoding="utf-8")))


def approved() -> dict[str, str]:
    """Approved distribution name -> pinned version (numpy, pandas, scipy, statsmodels to start)."""
    return {pin.name: pin.version for pin in pins() if pin.approved}


def importable_modules() -> frozenset[str]:
    """Top-level module names user code may import: approved packages plus the standard-library list."""
    return STDLIB_MODULES | {_IMPORT_NAMES.get(name, name.replace("-", "_")) for name in approved()}


def check_dependencies(names: list[str]) -> list[str]:
    """Return one sentence per declared dependency the sandbox cannot provide (empty when all are fine).

    A dependency is a package name, optionally pinned to the sandbox's own version
    (``pandas`` or ``pandas==2.3.3``); any other name or version is a validation problem.
    """
    allowed = approved()
    problems = []
    for raw in names:
        if not isinstance(raw, str) or not raw.strip():
            problems.append(f"Dependency {raw!r} is not a package name.")
            continue
        match = _REQUIREMENT.match(raw)
        if not match:
            problems.append(f"Dependency {raw!r} is not a package name, optionally with '==version'.")
            continue
        name = normalise(match["name"])
        if name not in allowed:
            choices = ", ".join(sorted(allowed))
            problems.append(f"Package '{match['name']}' is not on the sandbox allowlist; code models may use {choices}.")
            continue
        if match["op"] and (match["op"] != "==" or match["version"] != allowed[name]):
            problems.append(f"The sandbox provides {name} {allowed[name]} only, which does not satisfy '{raw.strip()}'.")
    return problems
