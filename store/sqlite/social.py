"""Saves and ratings on sqlite: one save and one rating (1-5 with a review) per user per model."""

from __future__ import annotations

import sqlite3

from contracts.records import Rating, RatingSummary, User
from store.common import dt, new_id, summarise_ratings, ts
from store.sqlite.db import Database
from store.sqlite.visibility import VISIBLE, require_visible_model, viewer_id


def rating_from_row(row: sqlite3.Row) -> Rating:
    """A ``model_ratings`` row as a ``Rating``."""
    return Rating(row["user_id"], row["model_id"], row["rating"], row["review"], dt(row["created_at"]), dt(row["updated_at"]))


class SqliteSocial:
    """What users say about models: saves and ratings."""

    def __init__(self, db: Database):
        self._db = db

    def save(self, viewer: User, model_id: str) -> None:
        with self._db.tx() as conn:
            require_visible_model(conn, viewer, model_id)
            conn.execute(
                "INSERT INTO model_saves (id, user_id, model_id, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (user_id, model_id) DO NOTHING",
                (new_id(), viewer.id, model_id, ts(self._db.now())),
            )

    def unsave(self, viewer: User, model_id: str) -> None:
        with self._db.tx() as conn:
            conn.execute("DELETE FROM model_saves WHERE user_id = ? AND model_id = ?", (viewer.id, model_id))

    def saved_ids(self, viewer: User) -> set[str]:
        return {r[0] for r in self._db.all("SELECT model_id FROM model_saves WHERE user_id = ?", (viewer.id,))}

    def rate(self, viewer: User, model_id: str, rating: int, review: str) -> Rating:
        stamp = ts(self._db.now())
        with self._db.tx() as conn:
            require_visible_model(conn, viewer, model_id)
            conn.execute(
                "INSERT INTO model_ratings (id, user_id, model_id, rating, review, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (user_id, model_id) DO UPDATE SET rating = excluded.rating, review = excluded.review, updated_at = excluded.updated_at",
                (new_id(), viewer.id, model_id, rating, review, stamp, stamp),
            )
            row = conn.execute("SELECT * FROM model_ratings WHERE user_id = ? AND model_id = ?", (viewer.id, model_id)).fetchone()
        return rating_from_row(row)

    def ratings(self, model_id: str, viewer: User | None) -> RatingSummary:
        rows = self._db.all(
            f"SELECT r.* FROM model_ratings r JOIN models m ON m.id = r.model_id WHERE r.model_id = ? AND {VISIBLE} ORDER BY r.updated_at DESC",
            (model_id, viewer_id(viewer)),
        )
        return summarise_ratings(tuple(rating_from_row(r) for r in rows), viewer)
