-- Auster Models: tables and indexes. Same columns as the embedded sqlite store (store/sqlite_schema.py);
-- tests/store/test_schema_parity.py proves it. Applied in file-name order with `supabase db push`
-- or psql (see docs/persistence.md).

create table if not exists public.profiles (
    id            uuid primary key references auth.users (id) on delete cascade,
    email         text,
    display_name  text not null default '',
    tier          text not null default 'free' check (tier in ('free', 'paid')),
    role          text not null default 'user' check (role in ('user', 'admin')),
    is_guest      boolean not null default false,
    created_at    timestamptz not null default now()
);

create table if not exists public.models (
    id                  uuid primary key default gen_random_uuid(),
    slug                text not null unique check (slug ~ '^[a-z0-9][a-z0-9-]{1,79}$'),
    name                text not null check (char_length(name) between 1 and 120),
    description         text not null default '',
    author_id           uuid references public.profiles (id) on delete set null,
    lab_scope           text not null check (lab_scope in ('econ', 'derivatives', 'both')),
    tags                text[] not null default '{}',
    difficulty          text not null check (difficulty in ('beginner', 'intermediate', 'advanced')),
    visibility          text not null default 'private' check (visibility in ('public', 'unlisted', 'private')),
    forked_from_id      uuid references public.models (id) on delete set null,
    current_version_id  uuid,
    kind                text not null default 'dsl' check (kind in ('dsl', 'python', 'js')),
    review_status       text check (review_status in ('pending', 'approved', 'rejected')),
    created_at          timestamptz not null default now(),
    updated_at          timestamptz not null default now()
);

create table if not exists public.model_versions (
    id             uuid primary key default gen_random_uuid(),
    model_id       uuid not null references public.models (id) on delete cascade,
    version        integer not null check (version >= 1),
    dsl_json       jsonb not null,
    input_schema   jsonb not null default '{"fields": []}',
    output_schema  jsonb not null default '{}',
    changelog      text not null default '',
    status         text not null default 'published' check (status in ('draft', 'published')),
    created_by     uuid references public.profiles (id) on delete set null,
    created_at     timestamptz not null default now(),
    unique (model_id, version)
);

alter table public.models drop constraint if exists models_current_version_fk;
alter table public.models add constraint models_current_version_fk
    foreign key (current_version_id) references public.model_versions (id) on delete set null;

create table if not exists public.model_runs (
    id           uuid primary key default gen_random_uuid(),
    model_id     uuid not null references public.models (id) on delete cascade,
    version_id   uuid not null references public.model_versions (id) on delete cascade,
    user_id      uuid not null references public.profiles (id) on delete cascade,
    inputs       jsonb not null default '{}',
    inputs_hash  text not null,
    outputs      jsonb,
    runtime_ms   double precision,
    status       text not null default 'pending' check (status in ('pending', 'success', 'error')),
    error        text,
    cached       boolean not null default false,
    created_at   timestamptz not null default now(),
    finished_at  timestamptz
);

create table if not exists public.model_usage_daily (
    model_id      uuid not null references public.models (id) on delete cascade,
    day           date not null,
    runs          integer not null default 0,
    unique_users  integer not null default 0,
    primary key (model_id, day)
);

create table if not exists public.model_saves (
    user_id     uuid not null references public.profiles (id) on delete cascade,
    model_id    uuid not null references public.models (id) on delete cascade,
    created_at  timestamptz not null default now(),
    primary key (user_id, model_id)
);

create table if not exists public.model_ratings (
    user_id     uuid not null references public.profiles (id) on delete cascade,
    model_id    uuid not null references public.models (id) on delete cascade,
    rating      smallint not null check (rating between 1 and 5),
    review      text not null default '' check (char_length(review) <= 4000),
    created_at  timestamptz not null default now(),
    updated_at  timestamptz not null default now(),
    primary key (user_id, model_id)
);

create table if not exists public.published_artifacts (
    id          uuid primary key default gen_random_uuid(),
    slug        text not null unique check (slug ~ '^[a-z0-9][a-z0-9-]{2,99}$'),
    run_id      uuid not null references public.model_runs (id) on delete restrict,
    model_id    uuid not null references public.models (id) on delete restrict,
    version_id  uuid not null references public.model_versions (id) on delete restrict,
    created_by  uuid not null references public.profiles (id) on delete cascade,
    title       text not null check (char_length(title) between 1 and 200),
    summary     text not null default '' check (char_length(summary) <= 4000),
    visibility  text not null default 'public' check (visibility in ('public', 'unlisted')),
    view_count  integer not null default 0,
    payload     jsonb not null,
    created_at  timestamptz not null default now()
);

create table if not exists public.model_comments (
    id          uuid primary key default gen_random_uuid(),
    model_id    uuid not null references public.models (id) on delete cascade,
    user_id     uuid not null references public.profiles (id) on delete cascade,
    body        text not null check (char_length(body) between 1 and 4000),
    created_at  timestamptz not null default now()
);

-- Indexes of the seed spec, plus the ones the run flow's hot queries need.
create index if not exists models_lab_scope_idx on public.models (lab_scope);
create index if not exists models_tags_idx on public.models using gin (tags);
create index if not exists models_author_idx on public.models (author_id);
create index if not exists models_created_idx on public.models (created_at desc);
create index if not exists model_versions_model_idx on public.model_versions (model_id, version desc);
create index if not exists model_runs_user_created_idx on public.model_runs (user_id, created_at desc);
create index if not exists model_runs_model_created_idx on public.model_runs (model_id, created_at desc);
create index if not exists model_runs_cache_idx on public.model_runs (version_id, inputs_hash, created_at desc);
create index if not exists model_usage_daily_day_idx on public.model_usage_daily (day);
create index if not exists model_ratings_model_idx on public.model_ratings (model_id);
create index if not exists model_saves_model_idx on public.model_saves (model_id);
create index if not exists published_artifacts_creator_idx on public.published_artifacts (created_by, created_at desc);
create index if not exists published_artifacts_public_idx on public.published_artifacts (created_at desc) where visibility = 'public';
create index if not exists model_comments_model_idx on public.model_comments (model_id, created_at);

-- A listing with the numbers cards and sorts need. security_invoker: the caller's RLS on models applies.
create or replace view public.model_listing with (security_invoker = true) as
select m.*,
       coalesce((select sum(u.runs) from public.model_usage_daily u
                 where u.model_id = m.id and u.day >= current_date - 30), 0)::integer as runs_30d,
       (select round(avg(r.rating)::numeric, 2)::double precision from public.model_ratings r where r.model_id = m.id) as rating_avg,
       (select count(*) from public.model_ratings r where r.model_id = m.id)::integer as rating_count
from public.models m;
