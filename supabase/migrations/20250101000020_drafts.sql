-- The builder's drafts (issue 12): one JSON document per owner and key ("new", "model:<slug>",
-- "from:<slug>"), autosaved on every edit. A draft is visible and writable by its owner only: the
-- policies below are the only barrier (Supabase grants table privileges broadly), and anonymous
-- visitors get no privilege at all. Numbered 20 so that 06 to 09, written meanwhile on other
-- branches, keep their numbers; it depends on none of them. Mirrors store/sqlite/schema.py (migration 20).

create table if not exists public.model_drafts (
    id          uuid primary key default gen_random_uuid(),
    owner_id    uuid not null default auth.uid() references public.profiles (id) on delete cascade,
    draft_key   text not null check (char_length(draft_key) between 1 and 200),
    document    jsonb not null check (octet_length(document::text) <= 524288),
    created_at  timestamptz not null default now(),
    updated_at  timestamptz not null default now(),
    unique (owner_id, draft_key)
);
create index if not exists model_drafts_owner_updated_idx on public.model_drafts (owner_id, updated_at desc);

alter table public.model_drafts enable row level security;
revoke all on public.model_drafts from anon;
revoke truncate, references, trigger on public.model_drafts from authenticated;
grant select, insert, update, delete on public.model_drafts to authenticated;

drop policy if exists drafts_select_own on public.model_drafts;
create policy drafts_select_own on public.model_drafts for select to authenticated using (owner_id = auth.uid());
drop policy if exists drafts_insert_own on public.model_drafts;
create policy drafts_insert_own on public.model_drafts for insert to authenticated with check (owner_id = auth.uid());
drop policy if exists drafts_update_own on public.model_drafts;
create policy drafts_update_own on public.model_drafts for update to authenticated
    using (owner_id = auth.uid()) with check (owner_id = auth.uid());
drop policy if exists drafts_delete_own on public.model_drafts;
create policy drafts_delete_own on public.model_drafts for delete to authenticated using (owner_id = auth.uid());

-- Whether a slug is taken by any model, private ones included: the builder checks before saving and
-- suggests another. It answers yes or no and never says whose model it is.
create or replace function public.model_slug_taken(p_slug text)
returns boolean language sql stable security definer set search_path = public, pg_temp as $$
    select exists (select 1 from public.models where slug = p_slug)
$$;
revoke all on function public.model_slug_taken(text) from public;
grant execute on function public.model_slug_taken(text) to anon, authenticated, service_role;
