"""The embedded store's schema: the same tables and columns as supabase/migrations (a test proves it).

Types map as uuid -> TEXT, jsonb/text[] -> TEXT holding JSON, timestamptz and date -> TEXT (ISO 8601,
UTC), boolean -> INTEGER 0/1. ``local_credentials`` is the sqlite stand-in for Supabase's ``auth.users``.
Migrations are append-only: add a new entry, never edit an applied one. Each runs in one transaction
with foreign keys off (``store.sqlite.db``), so a migration may rebuild a table the way sqlite's
documentation describes (create the new table, copy the rows, drop the old one, rename the new one)
where ALTER TABLE cannot do the change (primary keys, CHECK constraints).
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

# A random version-4 UUID in SQL (sqlite has no uuid function), for rows given an id by a migration.
_UUID = (
    "lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || substr(lower(hex(randomblob(2))), 2) || '-'"
    " || substr('89ab', 1 + abs(random()) % 4, 1) || substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6)))"
)

# The seed's schema, exactly (issue 8): its names and values beside our extra columns, renamed in place.
MIGRATIONS.append(
    (
        3,
        f"""
        CREATE TABLE models_v3 (
            id                  TEXT PRIMARY KEY,
            slug                TEXT NOT NULL UNIQUE,
            name                TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 120),
            description         TEXT NOT NULL DEFAULT '',
            owner_id            TEXT REFERENCES profiles (id) ON DELETE SET NULL,
            lab_scope           TEXT NOT NULL CHECK (lab_scope IN ('econ', 'derivatives', 'both')),
            tags                TEXT NOT NULL DEFAULT '[]',
            difficulty          TEXT NOT NULL CHECK (difficulty IN ('basic', 'intermediate', 'advanced')),
            visibility          TEXT NOT NULL DEFAULT 'private' CHECK (visibility IN ('public', 'unlisted', 'private')),
            is_template         INTEGER NOT NULL DEFAULT 0,
            forked_from_id      TEXT REFERENCES models (id) ON DELETE SET NULL,
            current_version_id  TEXT,
            kind                TEXT NOT NULL DEFAULT 'dsl' CHECK (kind IN ('dsl', 'python', 'js')),
            review_status       TEXT CHECK (review_status IN ('pending', 'approved', 'rejected')),
            created_at          TEXT NOT NULL,
            updated_at          TEXT NOT NULL
        );
        INSERT INTO models_v3 (id, slug, name, description, owner_id, lab_scope, tags, difficulty, visibility, is_template,
                               forked_from_id, current_version_id, kind, review_status, created_at, updated_at)
        SELECT m.id, m.slug, m.name, m.description, m.author_id, m.lab_scope, m.tags,
               CASE m.difficulty WHEN 'beginner' THEN 'basic' ELSE m.difficulty END, m.visibility,
               m.author_id IS NULL AND EXISTS (SELECT 1 FROM model_versions v WHERE v.model_id = m.id AND v.version = 1 AND v.changelog = 'Template'),
               m.forked_from_id, m.current_version_id, m.kind, m.review_status, m.created_at, m.updated_at
        FROM models m;
        DROP TABLE models;
        ALTER TABLE models_v3 RENAME TO models;
        CREATE INDEX models_lab_scope_idx ON models (lab_scope);
        CREATE INDEX models_owner_idx ON models (owner_id);
        CREATE INDEX models_is_template_idx ON models (is_template);
        CREATE INDEX models_created_idx ON models (created_at DESC);

        CREATE TABLE model_usage_daily_v3 (
            id            TEXT PRIMARY KEY,
            model_id      TEXT NOT NULL REFERENCES models (id) ON DELETE CASCADE,
            date          TEXT NOT NULL,
            runs          INTEGER NOT NULL DEFAULT 0,
            unique_users  INTEGER NOT NULL DEFAULT 0,
            UNIQUE (model_id, date)
        );
        INSERT INTO model_usage_daily_v3 (id, model_id, date, runs, unique_users)
        SELECT {_UUID}, model_id, day, runs, unique_users FROM model_usage_daily;
        DROP TABLE model_usage_daily;
        ALTER TABLE model_usage_daily_v3 RENAME TO model_usage_daily;
        CREATE INDEX model_usage_daily_date_idx ON model_usage_daily (date);

        CREATE TABLE model_saves_v3 (
            id          TEXT PRIMARY KEY,
            user_id     TEXT NOT NULL REFERENCES profiles (id) ON DELETE CASCADE,
            model_id    TEXT NOT NULL REFERENCES models (id) ON DELETE CASCADE,
            created_at  TEXT NOT NULL,
            UNIQUE (user_id, model_id)
        );
        INSERT INTO model_saves_v3 (id, user_id, model_id, created_at) SELECT {_UUID}, user_id, model_id, created_at FROM model_saves;
        DROP TABLE model_saves;
        ALTER TABLE model_saves_v3 RENAME TO model_saves;
        CREATE INDEX model_saves_model_idx ON model_saves (model_id);

        CREATE TABLE model_ratings_v3 (
            id          TEXT PRIMARY KEY,
            user_id     TEXT NOT NULL REFERENCES profiles (id) ON DELETE CASCADE,
            model_id    TEXT NOT NULL REFERENCES models (id) ON DELETE CASCADE,
            rating      INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
            review      TEXT NOT NULL DEFAULT '' CHECK (length(review) <= 4000),
            created_at  TEXT NOT NULL,
            updated_at  TEXT NOT NULL,
            UNIQUE (user_id, model_id)
        );
        INSERT INTO model_ratings_v3 (id, user_id, model_id, rating, review, created_at, updated_at)
        SELECT {_UUID}, user_id, model_id, rating, review, created_at, updated_at FROM model_ratings;
        DROP TABLE model_ratings;
        ALTER TABLE model_ratings_v3 RENAME TO model_ratings;
        CREATE INDEX model_ratings_model_idx ON model_ratings (model_id);

        ALTER TABLE model_versions ADD COLUMN runtime TEXT NOT NULL DEFAULT 'dsl' CHECK (runtime IN ('dsl', 'python', 'js'));
        ALTER TABLE model_versions ADD COLUMN code_bundle TEXT;
        ALTER TABLE model_versions ADD COLUMN dependencies TEXT NOT NULL DEFAULT '[]';

        ALTER TABLE model_runs RENAME COLUMN version_id TO model_version_id;
        ALTER TABLE model_runs RENAME COLUMN inputs TO inputs_json;
        ALTER TABLE model_runs RENAME COLUMN outputs TO outputs_json;
        ALTER TABLE model_runs RENAME COLUMN error TO error_message;
        ALTER TABLE model_runs ADD COLUMN cached_from_run_id TEXT REFERENCES model_runs (id) DEFERRABLE INITIALLY DEFERRED;
        DROP INDEX model_runs_cache_idx;
        CREATE INDEX model_runs_cache_idx ON model_runs (model_version_id, inputs_hash, created_at DESC) WHERE cached = 0 AND status = 'success';
        CREATE INDEX model_runs_cached_from_idx ON model_runs (cached_from_run_id) WHERE cached_from_run_id IS NOT NULL;
        UPDATE model_runs SET cached_from_run_id = (
            SELECT s.id FROM model_runs s
            WHERE s.cached = 0 AND s.status = 'success' AND s.model_version_id = model_runs.model_version_id
              AND s.inputs_hash = model_runs.inputs_hash AND s.outputs_json = model_runs.outputs_json AND s.created_at <= model_runs.created_at
            ORDER BY s.created_at DESC LIMIT 1)
        WHERE cached = 1 AND outputs_json IS NOT NULL;
        UPDATE model_runs SET outputs_json = NULL WHERE cached_from_run_id IS NOT NULL;
        CREATE TRIGGER model_runs_keep_reused_outputs AFTER DELETE ON model_runs
        BEGIN
            UPDATE model_runs SET outputs_json = OLD.outputs_json, cached_from_run_id = NULL WHERE cached_from_run_id = OLD.id;
        END;

        ALTER TABLE published_artifacts RENAME COLUMN created_by TO owner_id;
        ALTER TABLE published_artifacts RENAME COLUMN run_id TO model_run_id;
        ALTER TABLE published_artifacts RENAME COLUMN view_count TO views;
        ALTER TABLE published_artifacts ADD COLUMN type TEXT NOT NULL DEFAULT 'model_run' CHECK (type IN ('model_run', 'research_object'));
        UPDATE published_artifacts SET payload = json_set(payload, '$.model.difficulty', 'basic')
        WHERE json_extract(payload, '$.model.difficulty') = 'beginner';
        DROP INDEX published_artifacts_creator_idx;
        CREATE INDEX published_artifacts_owner_idx ON published_artifacts (owner_id, created_at DESC);
        CREATE INDEX published_artifacts_model_run_idx ON published_artifacts (model_run_id);
        """,
    )
)

# The templates of seeds/ at the release that reserved template slugs (issue 9); the Supabase migration
# 20250101000007 reserves the same list (tests/contracts/test_rules_parity.py compares them). Templates loaded
# later are reserved by load_seeds.
RESERVED_TEMPLATE_SLUGS = (
    "beta-vs-spy", "correlation-matrix", "cpi-inflation", "drawdown", "expected-move", "gamma-exposure",
    "high-yield-spread-zscore", "iv-smile", "iv-term-structure", "jobless-claims-trend", "max-pain", "okun-law",
    "phillips-curve", "put-call-ratio", "real-fed-funds-rate", "realized-vs-implied-vol", "recession-probability-10y-3m",
    "sahm-rule", "series-explorer", "series-spread-or-ratio", "skew-25d", "taylor-rule", "ten-year-decomposition",
    "volatility-cone", "yield-curve-10y-2y",
)

# Issue 9: views counted once per viewer per day (artifact_views), template slugs reserved
# (reserved_slugs, and a model that is not a template can never be given one).
_RESERVED = ", ".join(f"('{slug}', '2025-01-01T00:00:00.000000+00:00')" for slug in RESERVED_TEMPLATE_SLUGS)
MIGRATIONS.append(
    (
        4,
        f"""
        CREATE TABLE artifact_views (
            artifact_id  TEXT NOT NULL REFERENCES published_artifacts (id) ON DELETE CASCADE,
            viewer_key   TEXT NOT NULL CHECK (length(viewer_key) BETWEEN 1 AND 200),
            date         TEXT NOT NULL,
            PRIMARY KEY (artifact_id, date, viewer_key)
        );
        CREATE TABLE reserved_slugs (
            slug        TEXT PRIMARY KEY,
            created_at  TEXT NOT NULL
        );
        INSERT INTO reserved_slugs (slug, created_at) VALUES {_RESERVED};
        CREATE TRIGGER models_slug_not_reserved_insert BEFORE INSERT ON models
        WHEN NOT NEW.is_template AND EXISTS (SELECT 1 FROM reserved_slugs r WHERE r.slug = NEW.slug)
        BEGIN
            SELECT RAISE(ABORT, 'the address is reserved for a template');
        END;
        CREATE TRIGGER models_slug_not_reserved_update BEFORE UPDATE OF slug, is_template ON models
        WHEN NOT NEW.is_template AND EXISTS (SELECT 1 FROM reserved_slugs r WHERE r.slug = NEW.slug)
        BEGIN
            SELECT RAISE(ABORT, 'the address is reserved for a template');
        END;
        """,
    )
)

# Issue 11: sessions that outlast a browser tab. A session is an opaque random token in the browser's
# cookie, stored only as its SHA-256, with an expiry; revoked at sign-out, on a password change and by
# "sign out everywhere". The Supabase migration 20250101000010 makes the same table, where
# ``refresh_token_sealed`` holds the GoTrue refresh token behind the session (always NULL here: the
# embedded store has none) and ``generation`` counts its rotations.
MIGRATIONS.append(
    (
        10,
        """
        CREATE TABLE sessions (
            id            TEXT PRIMARY KEY,
            user_id       TEXT NOT NULL REFERENCES profiles (id) ON DELETE CASCADE,
            token_hash    TEXT NOT NULL UNIQUE CHECK (length(token_hash) = 64),
            refresh_token_sealed  TEXT,
            generation    INTEGER NOT NULL DEFAULT 0,
            created_at    TEXT NOT NULL,
            expires_at    TEXT NOT NULL,
            last_used_at  TEXT,
            revoked_at    TEXT
        );
        CREATE INDEX sessions_user_idx ON sessions (user_id) WHERE revoked_at IS NULL;
        """,
    )
)

# The builder's drafts (issue 12), one per owner and key, autosaved on every edit. Numbered 20 so that
# migrations 4 to 9, written meanwhile on other branches, keep their numbers; it depends on none of them.
MIGRATIONS.append(
    (
        20,
        """
        CREATE TABLE model_drafts (
            id          TEXT PRIMARY KEY,
            owner_id    TEXT NOT NULL REFERENCES profiles (id) ON DELETE CASCADE,
            draft_key   TEXT NOT NULL CHECK (length(draft_key) BETWEEN 1 AND 200),
            document    TEXT NOT NULL,
            created_at  TEXT NOT NULL,
            updated_at  TEXT NOT NULL,
            UNIQUE (owner_id, draft_key)
        );
        CREATE INDEX model_drafts_owner_updated_idx ON model_drafts (owner_id, updated_at DESC);
        """,
    )
)

# Issue 13: fork lineage. A fork remembers which version of its source it copied or last took
# (``forked_from_version_id``), so its page says "forked from X, version N" and its owner sees the
# source's newer versions. Forks made before this are matched to their source version through their
# first changelog ("Forked from <slug> v<N>"). The Supabase migration 20250101000030 does the same.
MIGRATIONS.append(
    (
        30,
        """
        ALTER TABLE models ADD COLUMN forked_from_version_id TEXT REFERENCES model_versions (id) ON DELETE SET NULL;
        UPDATE models SET forked_from_version_id = (
            SELECT sv.id FROM model_versions fv, models src, model_versions sv
             WHERE fv.model_id = models.id AND fv.version = 1 AND src.id = models.forked_from_id AND sv.model_id = src.id
               AND fv.changelog = 'Forked from ' || src.slug || ' v' || sv.version)
         WHERE forked_from_id IS NOT NULL;
        CREATE INDEX models_forked_from_idx ON models (forked_from_id) WHERE forked_from_id IS NOT NULL;
        """,
    )
)

# Issue 13: discussions. The same columns and table as the Supabase migration 20250101000031: a comment on
# an artifact keeps the artifact's model in model_id and the artifact in artifact_id; replies name their
# parent; edits, an admin's hiding and the author's deletion are stamped; reports go to comment_reports.
MIGRATIONS.append(
    (
        31,
        """
        ALTER TABLE model_comments ADD COLUMN artifact_id TEXT REFERENCES published_artifacts (id) ON DELETE CASCADE;
        ALTER TABLE model_comments ADD COLUMN parent_id TEXT REFERENCES model_comments (id) ON DELETE CASCADE;
        ALTER TABLE model_comments ADD COLUMN edited_at TEXT;
        ALTER TABLE model_comments ADD COLUMN hidden_at TEXT;
        ALTER TABLE model_comments ADD COLUMN hidden_by TEXT REFERENCES profiles (id) ON DELETE SET NULL;
        ALTER TABLE model_comments ADD COLUMN deleted_at TEXT;
        CREATE INDEX model_comments_artifact_idx ON model_comments (artifact_id, created_at) WHERE artifact_id IS NOT NULL;
        CREATE INDEX model_comments_user_created_idx ON model_comments (user_id, created_at DESC);
        CREATE TABLE comment_reports (
            id           TEXT PRIMARY KEY,
            comment_id   TEXT NOT NULL REFERENCES model_comments (id) ON DELETE CASCADE,
            reporter_id  TEXT NOT NULL REFERENCES profiles (id) ON DELETE CASCADE,
            reason       TEXT NOT NULL CHECK (length(reason) BETWEEN 1 AND 500),
            created_at   TEXT NOT NULL,
            UNIQUE (comment_id, reporter_id)
        );
        CREATE INDEX comment_reports_created_idx ON comment_reports (created_at DESC);
        """,
    )
)

# Issue 13: model_usage_daily kept exact, as the Supabase migration 20250101000032: unique_users counts the
# distinct users of a model on a UTC day (runs and cache hits) through model_usage_users; errors and
# cache_hits beside runs (executed runs). Days before it keep their counts; the users of each day so far are
# entered in model_usage_users, so that nobody who ran a model today is counted twice after the upgrade.
MIGRATIONS.append(
    (
        32,
        """
        CREATE TABLE model_usage_users (
            model_id  TEXT NOT NULL REFERENCES models (id) ON DELETE CASCADE,
            date      TEXT NOT NULL,
            user_id   TEXT NOT NULL REFERENCES profiles (id) ON DELETE CASCADE,
            PRIMARY KEY (model_id, date, user_id)
        );
        CREATE TABLE model_input_daily (
            model_id  TEXT NOT NULL REFERENCES models (id) ON DELETE CASCADE,
            date      TEXT NOT NULL,
            name      TEXT NOT NULL,
            value     TEXT NOT NULL,
            runs      INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (model_id, date, name, value)
        );
        CREATE INDEX model_runs_model_runtime_idx ON model_runs (model_id, created_at, runtime_ms) WHERE cached = 0 AND status = 'success';
        INSERT INTO model_input_daily (model_id, date, name, value, runs)
            SELECT r.model_id, substr(COALESCE(r.finished_at, r.created_at), 1, 10), kv.key,
                   substr(CASE kv.type WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' ELSE CAST(kv.value AS TEXT) END, 1, 200), COUNT(*)
              FROM model_runs r, json_each(r.inputs_json) kv WHERE r.status <> 'pending' AND kv.type <> 'null' GROUP BY 1, 2, 3, 4
            ON CONFLICT DO NOTHING;
        ALTER TABLE model_usage_daily ADD COLUMN errors INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE model_usage_daily ADD COLUMN cache_hits INTEGER NOT NULL DEFAULT 0;
        INSERT INTO model_usage_users (model_id, date, user_id)
            SELECT DISTINCT model_id, substr(COALESCE(finished_at, created_at), 1, 10), user_id FROM model_runs WHERE status <> 'pending'
            ON CONFLICT DO NOTHING;
        """,
    )
)

# Code models in review (issues 14 and 15). A code version (runtime python or js) starts 'pending'; an
# admin approves or rejects it and the decision is kept in model_reviews (who, when, the code's SHA-256,
# a note). ``models.review_status`` says whether the model has an approved version ('approved'), else
# the state of its newest code version: only an approved code model is seen, listed or run by anyone
# but its owner, and then only its approved versions. Numbered 40 (this branch's range).
MIGRATIONS.append(
    (
        40,
        """
        ALTER TABLE model_versions ADD COLUMN review_status TEXT CHECK (review_status IN ('pending', 'approved', 'rejected'));
        CREATE TABLE model_reviews (
            id            TEXT PRIMARY KEY,
            model_id      TEXT NOT NULL REFERENCES models (id) ON DELETE CASCADE,
            version_id    TEXT NOT NULL REFERENCES model_versions (id) ON DELETE CASCADE,
            reviewer_id   TEXT REFERENCES profiles (id) ON DELETE SET NULL,
            decision      TEXT NOT NULL CHECK (decision IN ('approved', 'rejected')),
            code_sha256   TEXT NOT NULL CHECK (length(code_sha256) = 64),
            note          TEXT NOT NULL DEFAULT '' CHECK (length(note) <= 4000),
            created_at    TEXT NOT NULL
        );
        CREATE INDEX model_reviews_model_idx ON model_reviews (model_id, created_at DESC);
        CREATE INDEX model_versions_pending_idx ON model_versions (review_status) WHERE review_status = 'pending';
        CREATE TRIGGER model_runs_code_reviewed BEFORE INSERT ON model_runs
        WHEN EXISTS (
            SELECT 1 FROM model_versions v JOIN models m ON m.id = v.model_id
             WHERE v.id = NEW.model_version_id AND v.runtime <> 'dsl'
               AND v.review_status IS NOT 'approved' AND m.owner_id IS NOT NEW.user_id)
        BEGIN
            SELECT RAISE(ABORT, 'code version not approved');
        END;
        """,
    )
)

# Issue 15: a run recorded for the queue says so (``queued = 1``), so the queue's sweep can find the queued runs
# still pending that the queue no longer knows (a Redis restart lost them) and fail them without their owner
# looking, and leaves alone a run the app is executing in place. As the Supabase migration 20250101000045.
MIGRATIONS.append(
    (
        45,
        """
        ALTER TABLE model_runs ADD COLUMN queued INTEGER NOT NULL DEFAULT 0;
        CREATE INDEX model_runs_queued_pending_idx ON model_runs (created_at) WHERE status = 'pending' AND queued = 1;
        """,
    )
)

# Issue 13, the admin page's health (Supabase migration 20250101000046): a failed run keeps its error's code and the
# operation of the step that failed (NULL when no step did: invalid inputs, an invalid document, a refusal), and the
# data providers' cache events are counted per provider, kind of call, UTC day, event and error code ('' when
# none), added to by the server in batches. Numbered 46, after 40 and 45, so a deployed database takes it in order.
MIGRATIONS.append(
    (
        46,
        """
        ALTER TABLE model_runs ADD COLUMN error_code TEXT CHECK (error_code IS NULL OR length(error_code) BETWEEN 1 AND 64);
        ALTER TABLE model_runs ADD COLUMN error_operation TEXT CHECK (error_operation IS NULL OR length(error_operation) BETWEEN 1 AND 100);
        CREATE INDEX model_runs_errors_idx ON model_runs (finished_at) WHERE status = 'error';
        CREATE TABLE provider_health_daily (
            provider  TEXT NOT NULL CHECK (length(provider) BETWEEN 1 AND 64),
            kind      TEXT NOT NULL CHECK (length(kind) BETWEEN 1 AND 64),
            date      TEXT NOT NULL,
            event     TEXT NOT NULL CHECK (event IN ('hit', 'miss', 'stale', 'error', 'rate_limited')),
            code      TEXT NOT NULL DEFAULT '' CHECK (length(code) <= 64),
            count     INTEGER NOT NULL DEFAULT 0 CHECK (count >= 0),
            PRIMARY KEY (provider, kind, date, event, code)
        );
        CREATE INDEX provider_health_daily_date_idx ON provider_health_daily (date);
        """,
    )
)

# Tables that exist only in the embedded store (Supabase keeps these in its own ``auth`` schema).
SQLITE_ONLY_TABLES = ("local_credentials", "schema_migrations", "local_settings")
