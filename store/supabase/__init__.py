"""The Supabase backend: supabase-py over PostgREST, with row-level security doing the access control.

One module per aggregate (users, models, runs, artifacts, social) over ``client.Clients``. It never
imports the sqlite backend; what both share is in ``store.common``.
"""

from store.supabase.filters import postgrest_like, postgrest_quote
from store.supabase.store import SupabaseStore

__all__ = ["SupabaseStore", "postgrest_like", "postgrest_quote"]
