"""Code models in review (issue 15), on every backend: a code version is its owner's alone until an admin
approves it; only admins decide; every decision is kept (who, when, which code, why); a new version goes
back to review while the last approved one stays what others see and run. On Supabase the same rules
are attacked through the raw client with a user's JWT, as a hostile browser would."""

from __future__ import annotations

import uuid

import pytest

from contracts.code import CodeBundle, code_hash
from contracts.errors import AusterError, ConflictError, NotFoundError, PermissionDenied
from contracts.records import Model, ModelQuery, User
from services.code_templates import TEMPLATES
from store.base import Store
from tests.store.conftest import seed_meta
from tests.store.test_conformance import RESULT, email

TEMPLATE = TEMPLATES["python"]
V1 = CodeBundle("python", TEMPLATE.code, ("pandas",))
V2 = CodeBundle("python", TEMPLATE.code.replace('rename("spread")', 'rename("spread_v2")'), ("pandas",))


def people(store: Store) -> tuple[User, User, User]:
    """An author, another user and an admin."""
    ana, bob = store.users.sign_up(email(), "password1"), store.users.sign_up(email(), "password1")
    root = store.users.sign_up(email(), "password1")
    store.users.set_profile(root.email, role="admin")  # an operator's task (the CLI)
    return ana, bob, store.users.sign_in(root.email, "password1")


def code_model(store: Store, owner: User, code: CodeBundle = V1) -> Model:
    meta = seed_meta(slug=f"code-{uuid.uuid4().hex[:8]}", dsl=TEMPLATE.dsl, input_schema=TEMPLATE.input_schema)
    return store.models.create_model(owner, meta, "private", "First version", code=code)


def visible_to(store: Store, viewer: User | None, model: Model) -> bool:
    return store.models.get_model(model.slug, viewer) is not None


def listed_to(store: Store, viewer: User | None, model: Model) -> bool:
    return model.slug in {m.slug for m in store.models.list_models(viewer, ModelQuery(limit=500))}


def approve(store: Store, admin: User, version_id: str, code: CodeBundle, note: str = "Reads only its inputs.") -> None:
    store.reviews.decide(admin, version_id, "approved", note, code.sha256)


def test_a_new_code_model_is_private_pending_and_its_owners_alone(store: Store) -> None:
    ana, bob, _ = people(store)
    model = code_model(store, ana)
    mine = store.models.get_model(model.slug, ana)
    assert (mine.latest.runtime, mine.latest.review_status, mine.latest.code_bundle) == ("python", "pending", V1.source)
    assert mine.latest.dependencies == ("pandas",) and mine.visibility == "private"
    for viewer in (bob, None):
        assert not visible_to(store, viewer, model) and not listed_to(store, viewer, model)
        assert store.models.list_versions(model.slug, viewer) == []


def test_an_unapproved_code_model_cannot_be_listed_shared_forked_or_run_by_another(store: Store) -> None:
    ana, bob, _ = people(store)
    model = code_model(store, ana)
    with pytest.raises(PermissionDenied, match="only once an admin has approved"):
        store.models.set_visibility(ana, model.id, "public")
    with pytest.raises(PermissionDenied, match="only once an admin has approved"):
        store.models.set_visibility(ana, model.id, "unlisted")
    with pytest.raises(NotFoundError):
        store.models.fork_model(bob, model.slug, f"stolen-{uuid.uuid4().hex[:6]}", None)
    with pytest.raises(NotFoundError):  # even knowing the ids, as a crafted request would
        store.runs.reserve_run(bob, model.id, model.latest.id, {}, "h-attack")
    owner_run = store.runs.reserve_run(ana, model.id, model.latest.id, {}, "h-own")  # the owner test-runs it
    store.runs.finish_run(ana, owner_run, "success", RESULT, 3.0, None)


def test_only_admins_see_the_queue_and_decide(store: Store) -> None:
    ana, bob, admin = people(store)
    model = code_model(store, ana)
    for user in (ana, bob):
        with pytest.raises(PermissionDenied, match="Only an admin"):
            store.reviews.queue(user)
        with pytest.raises(PermissionDenied, match="Only an admin"):
            store.reviews.decide(user, model.latest.id, "approved", "I approve myself", V1.sha256)
    item = next(i for i in store.reviews.queue(admin) if i.version.id == model.latest.id)
    assert (item.model.slug, item.version.code_bundle, item.last_approved) == (model.slug, V1.source, None)
    assert store.models.get_model(model.slug, ana).latest.review_status == "pending"


def test_a_decision_names_the_code_it_judged(store: Store) -> None:
    ana, _, admin = people(store)
    model = code_model(store, ana)
    with pytest.raises(ConflictError, match="The code changed since you read it"):
        store.reviews.decide(admin, model.latest.id, "approved", "", code_hash("print('other code')"))
    assert store.models.get_model(model.slug, ana).latest.review_status == "pending"


def test_approval_lets_others_run_it_and_a_new_version_waits_while_the_approved_one_stays_live(store: Store) -> None:
    ana, bob, admin = people(store)
    model = code_model(store, ana)
    approve(store, admin, model.latest.id, V1)
    store.models.set_visibility(ana, model.id, "public")
    seen = store.models.get_model(model.slug, bob)
    assert seen is not None and listed_to(store, bob, model) and listed_to(store, None, model)
    assert (seen.latest.version, seen.latest.review_status) == (1, "approved")
    store.runs.reserve_run(bob, model.id, seen.latest.id, {}, "h-v1")

    v2 = store.models.add_version(ana, model.id, TEMPLATE.dsl, TEMPLATE.input_schema, {}, "Rename the series", code=V2)
    assert v2.review_status == "pending"
    assert store.models.get_model(model.slug, ana).latest.id == v2.id  # the owner works on the new one
    others = store.models.get_model(model.slug, bob)
    assert others.latest.version == 1 and [v.version for v in store.models.list_versions(model.slug, bob)] == [1]
    with pytest.raises(NotFoundError):
        store.runs.reserve_run(bob, model.id, v2.id, {}, "h-v2")
    item = next(i for i in store.reviews.queue(admin) if i.version.id == v2.id)
    assert item.last_approved is not None and item.last_approved.version == 1  # what the admin diffs against


def test_every_decision_is_kept_and_shown_with_the_model(store: Store) -> None:
    ana, bob, admin = people(store)
    model = code_model(store, ana)
    approve(store, admin, model.latest.id, V1, "Pure pandas; fine.")
    store.models.set_visibility(ana, model.id, "public")
    v2 = store.models.add_version(ana, model.id, TEMPLATE.dsl, TEMPLATE.input_schema, {}, "v2", code=V2)
    rejected = store.reviews.decide(admin, v2.id, "rejected", "Please keep the series name.", V2.sha256)
    assert (rejected.decision, rejected.version, rejected.reviewer_id, rejected.code_sha256) == ("rejected", 2, admin.id, V2.sha256)
    for viewer in (ana, bob, None):
        history = store.reviews.history(viewer, model.id)
        assert [(r.version, r.decision, r.note) for r in history] == [(2, "rejected", "Please keep the series name."), (1, "approved", "Pure pandas; fine.")]
        assert {r.code_sha256 for r in history} == {V1.sha256, V2.sha256}
    assert store.models.get_model(model.slug, bob).latest.version == 1  # still the approved one
    assert store.models.get_model(model.slug, ana).latest.review_status == "rejected"


def test_a_fork_of_an_approved_code_model_goes_to_review_again(store: Store) -> None:
    ana, bob, admin = people(store)
    model = code_model(store, ana)
    approve(store, admin, model.latest.id, V1)
    store.models.set_visibility(ana, model.id, "public")
    fork = store.models.fork_model(bob, model.slug, f"fork-{uuid.uuid4().hex[:6]}", None)
    assert (fork.latest.runtime, fork.latest.review_status, fork.latest.code_bundle) == ("python", "pending", V1.source)
    assert not visible_to(store, ana, fork)


def test_a_fork_taking_its_sources_newer_code_version_sends_it_to_review(store: Store) -> None:
    ana, bob, admin = people(store)
    model = code_model(store, ana)
    approve(store, admin, model.latest.id, V1)
    store.models.set_visibility(ana, model.id, "public")
    fork = store.models.fork_model(bob, model.slug, f"fork-{uuid.uuid4().hex[:6]}", None)
    approve(store, admin, fork.latest.id, V1)
    store.models.set_visibility(bob, fork.id, "public")
    v2 = store.models.add_version(ana, model.id, TEMPLATE.dsl, TEMPLATE.input_schema, {}, "Rename the series", code=V2)
    with pytest.raises(NotFoundError):  # the source's v2 waits for review: its code is ana's alone
        store.models.take_source_version(bob, fork.slug, 2)
    approve(store, admin, v2.id, V2)

    taken = store.models.take_source_version(bob, fork.slug, 2)
    assert (taken.version, taken.runtime, taken.code_bundle, taken.review_status) == (2, "python", V2.source, "pending")
    assert store.models.get_model(fork.slug, bob).latest.id == taken.id  # the owner works on it
    item = next(i for i in store.reviews.queue(admin) if i.version.id == taken.id)  # it is in the admin's queue
    assert item.model.slug == fork.slug and item.last_approved is not None and item.last_approved.version == 1
    for viewer in (ana, None):  # others still see and run the fork's approved v1 only
        seen = store.models.get_model(fork.slug, viewer)
        assert seen is not None and seen.latest.version == 1
        assert [v.version for v in store.models.list_versions(fork.slug, viewer)] == [1]
    with pytest.raises(NotFoundError):
        store.runs.reserve_run(ana, fork.id, taken.id, {}, "h-taken")
    approve(store, admin, taken.id, V2)
    assert store.models.get_model(fork.slug, ana).latest.version == 2


def test_a_code_model_takes_only_code_versions_of_its_own_language(store: Store) -> None:
    ana, _, _ = people(store)
    model = code_model(store, ana)
    with pytest.raises(PermissionDenied, match="a new version must be python too"):
        store.models.add_version(ana, model.id, TEMPLATE.dsl, TEMPLATE.input_schema, {}, "as DSL")
    with pytest.raises(PermissionDenied, match="a new version must be python too"):
        store.models.add_version(ana, model.id, TEMPLATE.dsl, TEMPLATE.input_schema, {}, "as JS", code=CodeBundle("js", TEMPLATES["js"].code))


# ----------------------------------------------------------------------------- Supabase: attacks with a user's JWT
def raw(store: Store, user: User):
    if store.kind != "supabase":
        pytest.skip("an attack through PostgREST with a user's JWT; the sqlite backend has no such door")
    return store.clients.for_viewer(user)


def refused(request) -> None:
    from store.supabase.client import execute

    try:
        data = execute(request).data
    except AusterError:
        return
    assert not data, f"the database accepted: {data}"


def test_attack_a_user_cannot_write_a_review_or_approve_a_version_directly(store: Store) -> None:
    ana, _, _ = people(store)
    model = code_model(store, ana)
    client = raw(store, ana)
    refused(client.table("model_reviews").insert({"model_id": model.id, "version_id": model.latest.id, "reviewer_id": ana.id,
                                                  "decision": "approved", "code_sha256": V1.sha256, "note": "self"}))
    refused(client.table("model_versions").update({"review_status": "approved"}).eq("id", model.latest.id))
    refused(client.table("models").update({"review_status": "approved"}).eq("id", model.id))
    refused(client.table("models").update({"visibility": "public"}).eq("id", model.id))
    refused(client.rpc("review_code_version", {"p_version_id": model.latest.id, "p_decision": "approved", "p_note": "", "p_code_sha256": V1.sha256}))
    refused(client.rpc("code_versions_for_review", {"p_version_id": None}))
    assert store.models.get_model(model.slug, ana).latest.review_status == "pending"


def test_attack_a_user_cannot_insert_a_pre_approved_code_version_or_model(store: Store) -> None:
    ana, _, _ = people(store)
    model = code_model(store, ana)
    client = raw(store, ana)
    refused(client.table("model_versions").insert({"model_id": model.id, "version": 9, "dsl_json": TEMPLATE.dsl, "created_by": ana.id,
                                                   "runtime": "python", "code_bundle": "def run(i): return 1", "review_status": "approved"}))
    refused(client.table("models").insert({"slug": f"pre-{uuid.uuid4().hex[:6]}", "name": "x", "owner_id": ana.id, "lab_scope": "econ",
                                           "difficulty": "basic", "visibility": "public", "kind": "python", "review_status": "approved"}))
    refused(client.table("models").insert({"slug": f"pre-{uuid.uuid4().hex[:6]}", "name": "x", "owner_id": ana.id, "lab_scope": "econ",
                                           "difficulty": "basic", "visibility": "public", "kind": "python", "review_status": "pending"}))


def test_attack_another_user_cannot_read_unapproved_code_by_any_door(store: Store) -> None:
    ana, bob, _ = people(store)
    model = code_model(store, ana)
    client = raw(store, bob)
    from store.supabase.client import execute

    assert execute(client.table("model_versions").select("code_bundle").eq("model_id", model.id)).data == []
    assert execute(client.table("models").select("id").eq("id", model.id)).data == []
    assert not execute(client.rpc("get_model_by_slug", {"p_slug": model.slug})).data
    assert execute(client.rpc("model_reviews_of", {"p_model_id": model.id})).data == []
