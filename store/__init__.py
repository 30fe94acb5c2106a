"""Persistence by aggregate (store/base.py): sqlite (embedded default, store/sqlite/) or Supabase (when configured, store/supabase/)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from store.base import Store


def open_store(settings: Any) -> Store:
    """The backend the settings select: Supabase when its URL and anon key are set, else sqlite."""
    if settings.backend == "supabase":
        from store.supabase import SupabaseStore

        return SupabaseStore(settings.supabase_url, settings.supabase_anon_key, service_role_key=settings.supabase_service_role_key)
    from store.sqlite import SqliteStore

    return SqliteStore(settings.db_path, hash_slots=getattr(settings, "hash_slots", 4))


__all__ = ["open_store"]
