"""Code models in the product, in the real sandbox (issues 14 and 15): the starter templates in Python and
JavaScript give the seed's numbers through the run flow; a failing code step is one sentence on the run;
an unapproved model runs for its owner only; an admin's sandboxed trial run shows output, logs and limits."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import services
from contracts.code import CodeBundle
from contracts.errors import NotFoundError, RunFailed
from contracts.records import User
from services.code_templates import TEMPLATES
from services.config import Settings
from services.data import sample_access
from services.facade import Services
from services.runner import ProcessPoolRunner
from store.sqlite import SqliteStore
from tests.store.conftest import FAST_HASHER

INPUTS = {"start": "2024-01-01", "end": "2024-12-31"}


@pytest.fixture
def svc(tmp_path: Path, python_sandbox: None) -> Iterator[Services]:
    store = SqliteStore(tmp_path / "auster.db", password_hasher=FAST_HASHER)
    built = services.build(Settings(db_path=str(tmp_path / "auster.db"), seeds_dir=str(Path(__file__).parents[2] / "seeds")), store=store,
                           data=sample_access())
    yield built
    built.close()


def person(svc: Services, admin: bool = False) -> User:
    address = f"u{uuid.uuid4().hex[:10]}@example.com"
    user = svc.store.users.sign_up(address, "password1")
    return svc.store.users.set_profile(address, role="admin") if admin else user


def create(svc: Services, owner: User, runtime: str, source: str | None = None) -> str:
    template = TEMPLATES[runtime]
    slug = f"{runtime}-spread-{uuid.uuid4().hex[:6]}"
    bundle = CodeBundle(runtime, source or template.code, template.dependencies)
    svc.models.create(owner, template.meta(slug, f"Spread in {runtime}"), "private", "From the template", code=bundle)
    return slug


def seed_spread(svc: Services, user: User) -> dict[str, float]:
    series = svc.runs.run_model(user, "yield-curve-10y-2y", INPUTS).result.outputs["series"][0]
    return dict(zip(series["x"], series["y"], strict=True))


@pytest.mark.parametrize("runtime", ["python", "js"])
def test_the_starter_template_gives_the_seed_spread(svc: Services, runtime: str, js_sandbox: None) -> None:
    ana = person(svc)
    slug = create(svc, ana, runtime)
    outcome = svc.runs.run_model(ana, slug, INPUTS)
    series = outcome.result.outputs["series"][0]
    ours = dict(zip(series["x"], series["y"], strict=True))
    seed = seed_spread(svc, ana)
    assert ours.keys() == seed.keys() and len(ours) > 240
    assert max(abs(ours[d] - seed[d]) for d in seed) < 1e-9
    assert outcome.result.outputs["metrics"][0]["value"] == pytest.approx(seed[max(seed)])
    assert {p["symbol"] for p in outcome.result.provenance} == {"DGS10", "DGS2"}
    assert svc.runs.get_run(ana, outcome.run_id).status == "success"


def test_code_that_raises_fails_the_run_with_one_sentence_recorded(svc: Services) -> None:
    ana = person(svc)
    slug = create(svc, ana, "python", "def run(inputs):\n    raise ValueError('no spread before 1976')\n")
    with pytest.raises(RunFailed) as caught:
        svc.runs.run_model(ana, slug, INPUTS)
    message = str(caught.value)
    assert message.startswith("Step 'spread' (code) failed: The code raised ValueError") and "no spread before 1976" in message
    assert "\n" not in message and "Traceback" not in message
    assert caught.value.cause_code == "E_STEP"
    assert svc.runs.get_run(ana, caught.value.run_id).error_message == message


def test_an_import_outside_the_allowlist_is_a_sentence(svc: Services) -> None:
    ana = person(svc)
    slug = create(svc, ana, "python", "import socket\n\ndef run(inputs):\n    return inputs['dgs10']\n")
    with pytest.raises(RunFailed, match="socket"):
        svc.runs.run_model(ana, slug, INPUTS)


def test_only_the_owner_runs_it_until_an_admin_approves_after_a_trial_run(svc: Services) -> None:
    ana, bob, admin = person(svc), person(svc), person(svc, admin=True)
    slug = create(svc, ana, "python")
    with pytest.raises(NotFoundError):
        svc.runs.run_model(bob, slug, INPUTS)
    item = next(i for i in svc.review.queue(admin) if i.model.slug == slug)
    view = svc.review.open(admin, item.version.id)
    assert view.diff.startswith("--- nothing approved yet") and "+def run(inputs):" in view.diff
    trial = svc.review.trial(admin, item.version.id, INPUTS)
    assert trial.error is None and trial.result.outputs["series"][0]["y"]
    assert trial.limits["max_memory_mb"] == 512 and trial.runtime_ms > 0 and trial.peak_memory_mb > 0
    svc.review.decide(admin, item.version.id, "approved", "Reads only its inputs.", view.bundle.sha256)
    svc.models.set_visibility(ana, slug, "public")
    assert svc.runs.run_model(bob, slug, INPUTS).result.outputs["series"][0]["id"] == "spread"
    assert [r.decision for r in svc.review.history(None, slug)] == ["approved"]


def test_a_trial_run_shows_what_the_code_printed(svc: Services) -> None:
    ana, admin = person(svc), person(svc, admin=True)
    code = "def run(inputs):\n    print('rows', len(inputs['dgs10']))\n    return (inputs['dgs10'] - inputs['dgs2']).dropna()\n"
    slug = create(svc, ana, "python", code)
    version = svc.registry.get_model(slug, ana).latest
    trial = svc.review.trial(admin, version.id, INPUTS)
    assert trial.stdout.startswith("rows 2") and trial.error is None


def test_code_runs_in_the_process_pool_like_any_model(tmp_path: Path, python_sandbox: None) -> None:
    store = SqliteStore(tmp_path / "auster.db", password_hasher=FAST_HASHER)
    pool = ProcessPoolRunner(workers=1)
    built = services.build(Settings(db_path=str(tmp_path / "auster.db"), data_mode="sample"), store=store, runner=pool, load_seeds=False)
    try:
        ana = person(built)
        slug = create(built, ana, "python")
        outcome = built.runs.run_model(ana, slug, INPUTS)
        assert len(outcome.result.outputs["series"][0]["x"]) > 240
        audit = (tmp_path / "sandbox-audit.jsonl").read_text().splitlines()
        assert audit and f'"actor":"{ana.id}"' in audit[-1] and '"exit_cause":"ok"' in audit[-1]
    finally:
        pool.close()
        built.close()
