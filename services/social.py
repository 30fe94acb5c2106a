"""Saves and ratings (1-5 with an optional review, one per user per model)."""

from __future__ import annotations

from contracts.errors import InputInvalid
from contracts.records import ModelQuery, ModelSummary, Rating, RatingSummary, User
from services.auth import require_user
from services.registry import RegistryService
from store.base import Store


class SocialService:
    def __init__(self, store: Store, registry: RegistryService):
        self._store = store
        self._registry = registry

    def save(self, user: User | None, slug: str) -> None:
        user = require_user(user, "save a model")
        self._store.social.save(user, self._registry.get_model(slug, user).id)

    def unsave(self, user: User | None, slug: str) -> None:
        user = require_user(user, "unsave a model")
        self._store.social.unsave(user, self._registry.get_model(slug, user).id)

    def is_saved(self, user: User | None, slug: str) -> bool:
        if user is None:
            return False
        return self._registry.get_model(slug, user).id in self._store.social.saved_ids(user)

    def list_saved(self, user: User | None) -> list[ModelSummary]:
        user = require_user(user, "see your saved models")
        return self._store.models.list_models(user, ModelQuery(saved_only=True, sort="newest", limit=200))

    def rate(self, user: User | None, slug: str, rating: int, review: str = "") -> Rating:
        user = require_user(user, "rate a model")
        review = (review or "").strip()
        problems = {}
        if not isinstance(rating, int) or isinstance(rating, bool) or not 1 <= rating <= 5:
            problems["rating"] = "Give a rating from 1 to 5 stars."
        if len(review) > 4000:
            problems["review"] = "Keep the review under 4,000 characters."
        if problems:
            raise InputInvalid(problems)
        result = self._store.social.rate(user, self._registry.get_model(slug, user).id, rating, review)
        self._registry.invalidate()
        return result

    def ratings(self, slug: str, user: User | None = None) -> RatingSummary:
        return self._store.social.ratings(self._registry.get_model(slug, user).id, user)

