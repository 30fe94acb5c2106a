-- Two walls that must not depend on grants alone (issue 9).
--
-- 1. Template slugs are reserved. A user model could take a seed template's slug (before or after the
--    templates were loaded) and silently hide the template. reserved_slugs lists them: the templates
--    of this release below, and every template the operator loads afterwards (load_seeds adds its
--    slug). A model that is not a template can never be given a reserved slug.
-- 2. profiles: tier, role and email (and id, is_guest, created_at) were protected by column privileges
--    only, so one looser grant would have let users make themselves paid or admin. A trigger now
--    refuses any change to them by a user's role, whatever the grants say.

-- ------------------------------------------------------------------------------------ reserved slugs
create table public.reserved_slugs (
    slug        text primary key check (slug ~ '^[a-z0-9][a-z0-9-]{1,79}$'),
    created_at  timestamptz not null default now()
);
alter table public.reserved_slugs enable row level security;  -- no policy: only the server reads or writes it
revoke all on public.reserved_slugs from anon, authenticated;

-- The templates of seeds/ at this release (store/sqlite/schema.py reserves the same list).
insert into public.reserved_slugs (slug) values
    ('beta-vs-spy'),
    ('correlation-matrix'),
    ('cpi-inflation'),
    ('drawdown'),
    ('expected-move'),
    ('gamma-exposure'),
    ('high-yield-spread-zscore'),
    ('iv-smile'),
    ('iv-term-structure'),
    ('jobless-claims-trend'),
    ('max-pain'),
    ('okun-law'),
    ('phillips-curve'),
    ('put-call-ratio'),
    ('real-fed-funds-rate'),
    ('realized-vs-implied-vol'),
    ('recession-probability-10y-3m'),
    ('sahm-rule'),
    ('series-explorer'),
    ('series-spread-or-ratio'),
    ('skew-25d'),
    ('taylor-rule'),
    ('ten-year-decomposition'),
    ('volatility-cone'),
    ('yield-curve-10y-2y')
on conflict do nothing;

-- SECURITY DEFINER: the user inserting a model cannot read reserved_slugs, the check must.
create function public.models_slug_not_reserved() returns trigger
language plpgsql security definer set search_path = public, pg_temp as $$
begin
    if not new.is_template and exists (select 1 from public.reserved_slugs r where r.slug = new.slug) then
        raise exception using errcode = '23505', message = format('the address %s is reserved for a template', new.slug);
    end if;
    return new;
end $$;

create trigger models_slug_not_reserved before insert or update of slug, is_template on public.models
    for each row execute function public.models_slug_not_reserved();

-- ------------------------------------------------------------------------------------ profile guard
-- Runs as the caller (not SECURITY DEFINER), so current_user is the role PostgREST switched to.
create function public.profiles_guard() returns trigger
language plpgsql set search_path = public, pg_temp as $$
begin
    if current_user not in ('anon', 'authenticated') then
        return new;
    end if;
    if tg_op = 'INSERT' then
        raise exception using errcode = '42501', message = 'profiles are created by the server';
    end if;
    if (new.id, new.email, new.tier, new.role, new.is_guest, new.created_at)
       is distinct from (old.id, old.email, old.tier, old.role, old.is_guest, old.created_at) then
        raise exception using errcode = '42501', message = 'only the display name of a profile is yours to change';
    end if;
    return new;
end $$;

create trigger profiles_guard before insert or update on public.profiles
    for each row execute function public.profiles_guard();

revoke execute on function public.models_slug_not_reserved(), public.profiles_guard() from public, anon, authenticated;
