"""Version history and fork lineage (issue 13), specified once and run against every available backend."""

from __future__ import annotations

import uuid

import pytest

from contracts.errors import AuthError, NotFoundError, PermissionDenied
from store.base import Store
from tests.store.conftest import seed_meta
from tests.store.test_conformance import email


def slug(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def edited(dsl: dict, window: int) -> dict:
    """The seed's DSL with a rolling mean of ``window`` added on the spread."""
    steps = [*dsl["steps"], {"id": "smooth", "operation": "rolling_mean", "inputs": ["spread"], "params": {"window": window}}]
    return {**dsl, "steps": steps}


def test_history_names_each_versions_author_and_keeps_drafts_with_the_author(store: Store) -> None:
    ana = store.users.sign_up(email(), "password1", "Ana Analyst")
    bob = store.users.sign_up(email(), "password1", "Bob")
    model = store.models.create_model(ana, seed_meta(slug=slug("hist")), "public")
    store.models.add_version(ana, model.id, edited(model.latest.dsl, 5), model.latest.input_schema, {}, "Smooth over 5 days")
    store.models.add_version(ana, model.id, edited(model.latest.dsl, 9), model.latest.input_schema, {}, "Trying 9", status="draft")
    mine = store.models.list_versions(model.slug, ana)
    assert [(v.version, v.status, v.changelog, v.author_name) for v in mine] == [
        (3, "draft", "Trying 9", "Ana Analyst"), (2, "published", "Smooth over 5 days", "Ana Analyst"), (1, "published", "First version", "Ana Analyst"),
    ]
    theirs = store.models.list_versions(model.slug, bob)
    assert [(v.version, v.author_name) for v in theirs] == [(2, "Ana Analyst"), (1, "Ana Analyst")]
    assert [v.version for v in store.models.list_versions(model.slug, None)] == [2, 1]  # anonymous visitors too
    assert store.models.get_model(model.slug, bob).latest.author_name == "Ana Analyst"
    assert store.models.list_versions("spread-10y-2y", None)[0].author_name is None  # a template has no author


def test_a_fork_is_named_as_a_fork_and_says_where_it_came_from(store: Store) -> None:
    ana = store.users.sign_up(email(), "password1", "Ana")
    bob = store.users.sign_up(email(), "password1", "Bob")
    model = store.models.create_model(ana, seed_meta(slug=slug("src"), name="Spread watch"), "public")
    store.models.add_version(ana, model.id, edited(model.latest.dsl, 5), model.latest.input_schema, {}, "Smoothed")
    fork = store.models.fork_model(bob, model.slug, slug("fork"), None)
    assert fork.name == "Spread watch (fork)" and fork.forked_from_id == model.id
    lineage = store.models.lineage(fork.slug, bob)
    assert lineage.source.slug == model.slug and lineage.source.name == "Spread watch"
    assert lineage.source.version == 2 and lineage.source.owner_name == "Ana" and not lineage.source_hidden
    named = store.models.fork_model(bob, model.slug, slug("named"), "My own spread")
    assert named.name == "My own spread"


def test_a_source_lists_public_forks_and_the_viewers_own_only(store: Store) -> None:
    ana, bob, cai = (store.users.sign_up(email(), "password1", n) for n in ("Ana", "Bob", "Cai"))
    model = store.models.create_model(ana, seed_meta(slug=slug("src")), "public")
    private = store.models.fork_model(bob, model.slug, slug("bobs"), None)
    shared = store.models.fork_model(cai, model.slug, slug("cais"), None)
    store.models.set_visibility(cai, shared.id, "public")
    unlisted = store.models.fork_model(cai, model.slug, slug("cai-unl"), None)
    store.models.set_visibility(cai, unlisted.id, "unlisted")
    assert [f.slug for f in store.models.lineage(model.slug, ana).forks] == [shared.slug]
    assert [f.slug for f in store.models.lineage(model.slug, bob).forks] == [private.slug, shared.slug]
    assert [f.slug for f in store.models.lineage(model.slug, None).forks] == [shared.slug]
    entry = store.models.lineage(model.slug, None).forks[0]
    assert entry.owner_name == "Cai" and entry.version == 1 and entry.name.endswith("(fork)")
    assert store.models.lineage(private.slug, ana) is None  # a private fork is not even readable by the source's author
    assert store.models.lineage("spread-10y-2y", None).source is None


def test_a_fork_whose_source_turned_private_says_only_that_it_is_hidden(store: Store) -> None:
    ana, bob = store.users.sign_up(email(), "password1", "Ana"), store.users.sign_up(email(), "password1", "Bob")
    model = store.models.create_model(ana, seed_meta(slug=slug("src")), "public")
    fork = store.models.fork_model(bob, model.slug, slug("fork"), None)
    store.models.set_visibility(ana, model.id, "private")
    lineage = store.models.lineage(fork.slug, bob)
    assert lineage.source is None and lineage.source_hidden


def test_the_fork_owner_takes_a_newer_source_version_as_a_new_version(store: Store) -> None:
    ana, bob, cai = (store.users.sign_up(email(), "password1", n) for n in ("Ana", "Bob", "Cai"))
    model = store.models.create_model(ana, seed_meta(slug=slug("src")), "public")
    fork = store.models.fork_model(bob, model.slug, slug("fork"), None)
    newer = edited(model.latest.dsl, 20)
    store.models.add_version(ana, model.id, newer, model.latest.input_schema, {}, "Smoothed over 20 days")
    store.models.add_version(ana, model.id, edited(model.latest.dsl, 30), model.latest.input_schema, {}, "Unfinished", status="draft")
    with pytest.raises(PermissionDenied):
        store.models.take_source_version(cai, fork.slug, 2)  # only the fork's owner
    with pytest.raises(NotFoundError):
        store.models.take_source_version(bob, fork.slug, 3)  # another author's draft is not visible
    taken = store.models.take_source_version(bob, fork.slug, 2)
    assert taken.version == 2 and taken.dsl == newer and taken.changelog == f"Took {model.slug} v2" and taken.created_by == bob.id
    again = store.models.get_model(fork.slug, bob)
    assert again.latest.id == taken.id
    assert store.models.lineage(fork.slug, bob).source.version == 2
    assert [f.version for f in store.models.lineage(model.slug, bob).forks] == [2]
    assert store.models.list_versions(model.slug, ana)[0].version == 3  # the draft stays the source's


def test_taking_a_version_needs_an_identity_and_a_fork(store: Store) -> None:
    ana = store.users.sign_up(email(), "password1", "Ana")
    model = store.models.create_model(ana, seed_meta(slug=slug("src")), "public")
    with pytest.raises((NotFoundError, PermissionDenied, AuthError)):
        store.models.take_source_version(ana, model.slug, 1)  # not a fork: it has no source
