"""``SupabaseStore``: the Supabase backend, one aggregate per attribute over shared ``Clients``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from store.supabase.artifacts import SupabaseArtifacts
from store.supabase.client import Clients
from store.supabase.comments import SupabaseComments
from store.supabase.drafts import SupabaseDrafts
from store.supabase.health import SupabaseHealth
from store.supabase.models import SupabaseModels
from store.supabase.reviews import SupabaseReviews
from store.supabase.runs import SupabaseRuns
from store.supabase.sessions import SupabaseSessions
from store.supabase.social import SupabaseSocial
from store.supabase.users import SupabaseUsers


class SupabaseStore:
    """Store over a Supabase project; construct once per process, users carry their own clients."""

    kind = "supabase"

    def __init__(
        self,
        url: str,
        anon_key: str,
        *,
        service_role_key: str | None = None,
        http_client_factory: Callable[[], httpx.Client] | None = None,
        auto_refresh_token: bool = False,
    ):
        self.clients = Clients(
            url, anon_key, service_role_key=service_role_key, http_client_factory=http_client_factory, auto_refresh_token=auto_refresh_token
        )
        self.url = self.clients.url
        self.users = SupabaseUsers(self.clients)
        self.sessions = SupabaseSessions(self.clients, self.users)
        self.models = SupabaseModels(self.clients)
        self.runs = SupabaseRuns(self.clients)
        self.artifacts = SupabaseArtifacts(self.clients)
        self.social = SupabaseSocial(self.clients)
        self.drafts = SupabaseDrafts(self.clients)
        self.reviews = SupabaseReviews(self.clients)
        self.comments = SupabaseComments(self.clients)
        self.health = SupabaseHealth(self.clients)

    def new_client(self, key: str | None = None) -> Any:
        """A fresh supabase client (one per browser session) with retries off and a timeout."""
        return self.clients.new(key)

    def close(self) -> None:
        self.clients.close()
