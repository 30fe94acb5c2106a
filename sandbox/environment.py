"""The dedicated sandbox environment: a copy of the project's interpreter plus only the allowlisted packages.

Layout (default ``/opt/auster-sandbox``, or ``AUSTER_SANDBOX_ENV``)::

    python/      bin/python3.X, lib/libpython3.X.so.1.0, lib/python3.X (stdlib, no site-packages)
    packages/    exactly the pins of requirements-sandbox.txt (pip --target, --no-deps, wheels only)
    manifest.json  python version, the requirements' hash, the system libraries to bind

The interpreter is copied rather than bound from where it lives because the project's interpreter is
under ``/root`` (mode 0700) and bubblewrap runs as an unprivileged uid, which could not read it there.
The environment is world-readable and bound read-only into every sandbox.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sandbox import allowlist
from sandbox.errors import SandboxUnavailable

DEFAULT_DIR = Path("/opt/auster-sandbox")
MANIFEST = "manifest.json"
FORMAT = 1
# Stdlib parts user code can never need inside the sandbox (tests, GUI, build files, installers).
_STDLIB_SKIP = {"site-packages", "test", "idlelib", "tkinter", "turtledemo", "ensurepip", "lib2to3", "venv"}
_DYNLOAD_SKIP_PREFIXES = ("_test", "_tkinter", "_curses", "readline", "nis", "spwd", "ossaudiodev", "_xx", "_ctypes_test", "xxlimited", "_dbm", "_gdbm")


def env_dir() -> Path:
    """Where the environment lives: ``AUSTER_SANDBOX_ENV``, else ``/opt/auster-sandbox``."""
    configured = os.environ.get("AUSTER_SANDBOX_ENV", "").strip()
    return Path(configured) if configured else DEFAULT_DIR


def requirements_hash(python_version: str | None = None) -> str:
    """Identify what an environment must hold: the pinned lines and the interpreter version."""
    version = python_version or sysconfig.get_python_version()
    lines = "\n".join(pin.requirement for pin in allowlist.pins())
    return hashlib.sha256(f"format={FORMAT}\npython={version}\n{lines}".encode()).hexdigest()


@dataclass(frozen=True)
class SandboxEnv:
    """A built environment, as recorded in its manifest."""

    root: Path
    python_version: str
    executable: str  # relative to python/, e.g. bin/python3.11
    libpython: str | None  # relative to python/, e.g. lib/libpython3.11.so.1.0
    system_libs: tuple[str, ...]  # absolute host paths, bound at the same place

    @property
    def python_dir(self) -> Path:
        return self.root / "python"

    @property
    def packages_dir(self) -> Path:
        return self.root / "packages"

    @property
    def stdlib_dir_name(self) -> str:
        return f"python{self.python_version}"


def load(root: Path | None = None) -> SandboxEnv:
    """Return the built environment, or raise ``SandboxUnavailable`` with the command that builds it."""
    root = root or env_dir()
    hint = "run `python -m sandbox build-env` (or `make sandbox-env`)"
    try:
        manifest = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SandboxUnavailable(f"The sandbox environment is not built at {root}: {hint}.") from None
    except (OSError, ValueError) as exc:
        raise SandboxUnavailable(f"The sandbox environment at {root} is unreadable ({exc}): {hint}.") from None
    if manifest.get("requirements_sha256") != requirements_hash(manifest.get("python_version")) or manifest.get(
        "python_version"
    ) != sysconfig.get_python_version():
        raise SandboxUnavailable(f"The sandbox environment at {root} was built for other pins or another Python: {hint}.")
    return SandboxEnv(
        root=root,
        python_version=manifest["python_version"],
        executable=manifest["executable"],
        libpython=manifest.get("libpython"),
        system_libs=tuple(manifest["system_libs"]),
    )


def is_current(root: Path | None = None) -> bool:
    """True when the environment exists and matches requirements-sandbox.txt and this interpreter."""
    try:
        load(root)
    except SandboxUnavailable:
        return False
    return True


def _copy_interpreter(target: Path) -> tuple[str, str | None]:
    base = Path(sys.base_prefix)
    version = sysconfig.get_python_version()
    executable = f"bin/python{version}"
    (target / "bin").mkdir(parents=True)
    shutil.copy2(Path(sys._base_executable).resolve() if hasattr(sys, "_base_executable") else base / executable, target / executable)
    libpython = None
    ldlibrary = sysconfig.get_config_var("INSTSONAME") or ""
    if sysconfig.get_config_var("Py_ENABLE_SHARED") and ldlibrary:
        source = Path(sysconfig.get_config_var("LIBDIR") or base / "lib") / ldlibrary
        libpython = f"lib/{ldlibrary}"
        (target / "lib").mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target / libpython)
    stdlib = Path(sysconfig.get_paths(vars={"installed_base": str(base), "base": str(base)})["stdlib"])

    def skip(directory: str, names: list[str]) -> set[str]:
        skipped = {n for n in names if n in _STDLIB_SKIP and Path(directory) == stdlib}
        if Path(directory).name == "lib-dynload":
            skipped |= {n for n in names if n.startswith(_DYNLOAD_SKIP_PREFIXES)}
        return skipped | {n for n in names if n.startswith("config-")}

    shutil.copytree(stdlib, target / "lib" / f"python{version}", ignore=skip, symlinks=False)
    return executable, libpython


def _install_packages(target: Path, pip_python: str) -> None:
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as pins:
        pins.write("\n".join(pin.requirement for pin in allowlist.pins()) + "\n")
    try:
        command = [pip_python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-input",
                   "--no-deps", "--only-binary=:all:", "--target", str(target), "-r", pins.name]
        completed = subprocess.run(command, capture_output=True, text=True, check=False)
        if completed.returncode != 0:
            tail = (completed.stderr or completed.stdout).strip().splitlines()[-3:]
            raise SandboxUnavailable(f"pip could not install the sandbox packages: {' / '.join(tail)}.")
    finally:
        os.unlink(pins.name)
    # pip --target leaves console scripts behind; the sandbox runs no scripts.
    shutil.rmtree(target / "bin", ignore_errors=True)


def shared_libraries(paths: list[Path], inside: list[Path]) -> list[str]:
    """System libraries (absolute host paths) that ``paths`` load, found with ``ldd``; ``inside`` dirs are skipped."""
    found: set[str] = set()
    for start in range(0, len(paths), 200):
        batch = [str(p) for p in paths[start : start + 200]]
        completed = subprocess.run(["ldd", *batch], capture_output=True, text=True, check=False)
        for line in completed.stdout.splitlines():
            line = line.strip()
            if "=>" in line:
                line = line.split("=>", 1)[1].strip()
            path = line.split(" (", 1)[0].strip()
            if not path.startswith("/") or not os.path.exists(path):
                continue
            if any(Path(path).resolve().is_relative_to(d.resolve()) or Path(path).is_relative_to(d) for d in inside):
                continue
            found.add(path)
    return sorted(found)


def build(root: Path | None = None, *, force: bool = False, pip_python: str | None = None) -> SandboxEnv:
    """Build (or rebuild) the environment from this interpreter and requirements-sandbox.txt; idempotent."""
    root = root or env_dir()
    if not force and is_current(root):
        return load(root)
    if shutil.which("ldd") is None:
        raise SandboxUnavailable("ldd (Debian's libc-bin) is needed to build the sandbox environment.")
    root.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{root.name}.building-", dir=root.parent))
    try:
        executable, libpython = _copy_interpreter(stage / "python")
        _install_packages(stage / "packages", pip_python or sys.executable)
        binaries = [stage / "python" / executable, *sorted(stage.rglob("*.so")), *sorted(stage.rglob("*.so.*"))]
        base = Path(sys.base_prefix)
        libs = shared_libraries(binaries, inside=[stage, base])
        manifest = {
            "format": FORMAT,
            "python_version": sysconfig.get_python_version(),
            "python_full_version": sys.version.split()[0],
            "built_from": str(base),
            "executable": executable,
            "libpython": libpython,
            "requirements_sha256": requirements_hash(),
            "packages": {pin.name: pin.version for pin in allowlist.pins()},
            "system_libs": libs,
            "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        (stage / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        for directory, _dirs, files in os.walk(stage):
            os.chmod(directory, 0o755)
            for name in files:
                path = os.path.join(directory, name)
                if not os.path.islink(path):
                    os.chmod(path, 0o755 if os.access(path, os.X_OK) else 0o644)
        os.chmod(stage, 0o755)
        old = None
        if root.exists():
            old = root.with_name(f".{root.name}.old-{os.getpid()}")
            root.rename(old)
        stage.rename(root)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    return load(root)
