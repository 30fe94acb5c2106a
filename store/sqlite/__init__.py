"""The embedded sqlite backend: one module per aggregate (users, models, runs, artifacts, social) over ``db``."""

from store.sqlite.store import SqliteStore

__all__ = ["SqliteStore"]
