"""The embedded store when another process holds the database: a sentence, then business as usual."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from contracts.errors import StoreUnavailable
from contracts.records import ModelQuery
from store.sqlite import SqliteStore
from tests.store.conftest import FAST_HASHER, seed_meta


def test_a_locked_database_is_a_sentence_and_the_store_recovers(tmp_path: Path) -> None:
    path = tmp_path / "auster.db"
    store = SqliteStore(path, password_hasher=FAST_HASHER, busy_timeout_s=0.2)
    store.models.load_seeds([seed_meta()])
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # another process writing (or stuck) past the busy timeout
    with pytest.raises(StoreUnavailable, match="busy or unavailable; try again in a moment"):
        store.users.guest()
    other.execute("ROLLBACK")
    other.close()
    user = store.users.guest()  # no transaction was left open behind
    assert [m.slug for m in store.models.list_models(user, ModelQuery())] == ["spread-10y-2y"]
    store.close()


READ_ONLY_SCRIPT = """
import sys
sys.path.insert(0, {root!r})
from contracts.errors import StoreUnavailable
from store.sqlite import SqliteStore
try:
    SqliteStore({path!r})
except StoreUnavailable as exc:
    print("StoreUnavailable:", exc)
else:
    print("opened")
"""


def test_a_read_only_database_file_is_a_sentence_not_a_traceback() -> None:
    """Issue 9: a read-only sqlite file gave a traceback. Run as an unprivileged user (root writes anyway)."""
    import os
    import shutil
    import subprocess
    import sys
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="auster-ro-"))
    try:
        path = folder / "auster.db"
        SqliteStore(path, password_hasher=FAST_HASHER).close()
        path.chmod(0o444)
        folder.chmod(0o555)
        script = READ_ONLY_SCRIPT.format(root=str(Path(__file__).resolve().parents[2]), path=str(path))
        command = [sys.executable, "-c", script]
        if os.geteuid() == 0:
            if shutil.which("setpriv") is None:
                pytest.skip("running as root without setpriv: cannot make a file read-only to ourselves")
            command = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, cwd="/")
        assert "Traceback" not in done.stderr, done.stderr
        assert done.stdout.startswith("StoreUnavailable: The app cannot write to its database"), (done.stdout, done.stderr)
        assert str(folder) not in done.stdout
    finally:
        folder.chmod(0o755)
        shutil.rmtree(folder, ignore_errors=True)
