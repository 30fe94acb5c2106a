"""The embedded store's schema: the same tables and columns as supabase/migrations (a test proves it).

Types map as uuid -> TEXT, jsonb/text[] -> TEXT holding JSON, timestamptz -> TEXT (ISO 8601, UTC),
boolean -> INTEGER 0/1. ``local_credentials`` is the sqlite stand-in for Supabase's ``auth.users``.
Migrations are append-only: add a new entry, never edit an applied one.
"""

from __future__ import annotations

MIGRATIONS: list[tuple[int, str]] = [
    (
        1,
        """
        CREATE TABLE local_credentials (
            user_id        TEXT PRIMARY KEY,
            email          TEXT UNIQUE COLLATE NOCASE,
            password_hash  TEXT,
            is_anonymous   INTEGER NOT NULL DEFAULT 0,
            created_at     TEXT NOT NULL
        );
        CREATE TABLE profiles (
            id            TEXT PRIMARY KEY REFERENCES local_credentials (user_id) ON DELETE CASCADE,
            email         TEXT,
            display_name  TEXT NOT NULL DEFAULT '',
            tier          TEXT NOT NULL DEFAULT 'free' CHECK (tier IN ('free', 'paid')),
            role          TEXT NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
            is_guest      INTEGER NOT NULL DEFAULT 0,
            created_at    TEXT NOT NULL
        );
        CREATE TABLE models (
            id                  TEXT PRIMARY KEY,
            slug                TEXT NOT NULL UNIQUE,
            name                TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 120),
            description         TEXT NOT NULL DEFAULT '',
            author_id           TEXT REFERENCES profiles (id) ON DELETE SET NULL,
            lab_scope           TEXT NOT NULL CHECK (lab_scope IN ('econ', 'derivatives', 'both')),
            tags                TEXT NOT NULL DEFAULT '[]',
            difficulty          TEXT NOT NULL CHECK (difficulty IN ('beginner', 'intermediate', 'advanced')),
            visibility          TEXT NOT NULL DEFAULT 'private' CHECK (visibility IN ('public', 'unlisted', 'private')),
            forked_from_id      TEXT REFERENCES models (id) ON DELETE SET NULL,
            current_version_id  TEXT,
            kind                TEXT NOT NULL DEFAULT 'dsl' CHECK (kind IN ('dsl', 'python', 'js')),
            review_status       TEXT CHECK (review_status IN ('pending', 'approved', 'rejected')),
            created_at          TEXT NOT NULL,
            updated_at          TEXT NOT NULL
        );
        CREATE TABLE model_versions (
            id             TEXT PRIMARY KEY,
            model_id       TEXT NOT NULL REFERENCES models (id) ON DELETE CASCADE,
            version        INTEGER NOT NULL CHECK (version >= 1),
            dsl_json       TEXT NOT NULL,
            input_schema   TEXT NOT NULL DEFAULT '{"fields": []}',
            output_schema  TEXT NOT NULL DEFAULT '{}',
            changelog      TEXT NOT NULL DEFAULT '',
            status         TEXT NOT NULL DEFAULT 'published' CHECK (status IN ('draft', 'published')),
            created_by     TEXT REFERENCES profiles (id) ON DELETE SET NULL,
            created_at     TEXT NOT NULL,
            UNIQUE (model_id, version)
        );
        CREATE TABLE model_runs (
            id           TEXT PRIMARY KEY,
            model_id     TEXT NOT NULL REFERENCES models (id) ON DELETE CASCADE,
            version_id   TEXT NOT NULL REFERENCES model_versions (id) ON DELETE CASCADE,
            user_id      TEXT NOT NULL REFERENCES profiles (id) ON DELETE CASCADE,
            inputs       TEXT NOT NULL DEFAULT '{}',
            inputs_hash  TEXT NOT NULL,
            outputs      TEXT,
            runtime_ms   REAL,
            status       TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'success', 'error')),
            error        TEXT,
            cached       INTEGER NOT NULL DEFAULT 0,
            created_at   TEXT NOT NULL,
            finished_at  TEXT
        );
        CREATE TABLE model_usage_daily (
            model_id      TEXT NOT NULL REFERENCES models (id) ON DELETE CASCADE,
            day           TEXT NOT NULL,
            runs          INTEGER NOT NULL DEFAULT 0,
            unique_users  INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (model_id, day)
        );
        CREATE TABLE model_saves (
            user_id     TEXT NOT NULL REFERENCES profiles (id) ON DELETE CASCADE,
            model_id    TEXT NOT NULL REFERENCES models (id) ON DELETE CASCADE,
            created_at  TEXT NOT NULL,
            PRIMARY KEY (user_id, model_id)
        );
        CREATE TABLE model_ratings (
            user_id     TEXT NOT NULL REFERENCES profiles (id) ON DELETE CASCADE,
            model_id    TEXT NOT NULL REFERENCES models (id) ON DELETE CASCADE,
            rating      INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
            review      TEXT NOT NULL DEFAULT '' CHECK (length(review) <= 4000),
            created_at  TEXT NOT NULL,
            updated_at  TEXT NOT NULL,
            PRIMARY KEY (user_id, model_id)
        );
        CREATE TABLE published_artifacts (
            id          TEXT PRIMARY KEY,
            slug        TEXT NOT NULL UNIQUE,
            run_id      TEXT NOT NULL REFERENCES model_runs (id) ON DELETE RESTRICT,
            model_id    TEXT NOT NULL REFERENCES models (id) ON DELETE RESTRICT,
            version_id  TEXT NOT NULL REFERENCES model_versions (id) ON DELETE RESTRICT,
            created_by  TEXT NOT NULL REFERENCES profiles (id) ON DELETE CASCADE,
            title       TEXT NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
            summary     TEXT NOT NULL DEFAULT '' CHECK (length(summary) <= 4000),
            visibility  TEXT NOT NULL DEFAULT 'public' CHECK (visibility IN ('public', 'unlisted')),
            view_count  INTEGER NOT NULL DEFAULT 0,
            payload     TEXT NOT NULL,
            created_at  TEXT NOT NULL
        );
        CREATE TABLE model_comments (
            id          TEXT PRIMARY KEY,
            model_id    TEXT NOT NULL REFERENCES models (id) ON DELETE CASCADE,
            user_id     TEXT NOT NULL REFERENCES profiles (id) ON DELETE CASCADE,
            body        TEXT NOT NULL CHECK (length(body) BETWEEN 1 AND 4000),
            created_at  TEXT NOT NULL
        );
        CREATE INDEX models_lab_scope_idx ON models (lab_scope);
        CREATE INDEX models_author_idx ON models (author_id);
        CREATE INDEX models_created_idx ON models (created_at DESC);
        CREATE INDEX model_versions_model_idx ON model_versions (model_id, version DESC);
        CREATE INDEX model_runs_user_created_idx ON model_runs (user_id, created_at DESC);
        CREATE INDEX model_runs_model_created_idx ON model_runs (model_id, created_at DESC);
        CREATE INDEX model_runs_cache_idx ON model_runs (version_id, inputs_hash, created_at DESC);
        CREATE INDEX model_usage_daily_day_idx ON model_usage_daily (day);
        CREATE INDEX model_ratings_model_idx ON model_ratings (model_id);
        CREATE INDEX model_saves_model_idx ON model_saves (model_id);
        CREATE INDEX published_artifacts_creator_idx ON published_artifacts (created_by, created_at DESC);
        CREATE INDEX published_artifacts_public_idx ON published_artifacts (created_at DESC) WHERE visibility = 'public';
        CREATE INDEX model_comments_model_idx ON model_comments (model_id, created_at);
        """,
    ),
]

MIGRATIONS.append(
    (
        2,
        """
        CREATE TABLE local_settings (
            key    TEXT PRIMARY KEY,
            value  TEXT NOT NULL
        );
        """,
    )
)

# Tables that exist only in the embedded store (Supabase keeps these in its own ``auth`` schema).
SQLITE_ONLY_TABLES = ("local_credentials", "schema_migrations", "local_settings")
