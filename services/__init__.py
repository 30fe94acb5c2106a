"""Use cases of Auster Models, with no Streamlit: identity, registry, the run flow, publishing, social.

The app builds one ``Services`` per process (``st.cache_resource`` at the page boundary) and keeps
one ``User`` per browser session (``st.session_state``). The user is always passed in explicitly;
nothing here keeps a user in a module global. With Supabase, the ``User`` carries that session's
own client (holding the user's JWT), so row-level security applies to every call made for it.

    import services
    svc = services.build()                      # settings from the environment / .streamlit/secrets.toml
    user = svc.auth.guest()                     # or svc.auth.sign_in(email, password) / sign_up(...)
    models = svc.registry.list_models(user, text="spread", lab_scope="econ", sort="popular")
    outcome = svc.runs.run_model(user, "yield-curve-spread", {"start": "2020-01-01"})
    outcome.result                              # engine.executor.RunResult (outputs, trace, provenance)
    art = svc.publishing.publish(user, outcome.run_id, title="2s10s", visibility="unlisted")
    svc.publishing.get_artifact(art.slug)       # works for anonymous visitors (user=None)

Public API (``user`` is a ``User`` or ``None`` for an anonymous visitor who only browses):

``services.build(settings: Settings | None = None) -> Services``
    ``Services.settings``, ``.store`` (the backend: ``.users``, ``.models``, ``.runs``, ``.artifacts``,
    ``.social``; see store/base.py), ``.data`` (engine DataAccess), and:

``svc.auth``
    ``sign_up(email, password, display_name=None) -> User``; ``sign_in(email, password) -> User``;
    ``guest() -> User`` (anonymous session, tier free); ``sign_out(user)``; ``refresh(user) -> User``;
    ``set_tier(admin, email, tier)`` and ``set_role(admin, email, role)`` (admins only).
``svc.registry``
    ``list_models(user, text="", lab_scope=None, tags=(), difficulty=None, sort="popular", limit=60,
    only_mine=False, saved_only=False)
    -> list[ModelSummary]``: public models plus the user's own; ``lab_scope`` "econ" also matches
    "both"; ``tags`` must all match; ``sort`` is "popular" (runs in the last 30 days), "top_rated" or
    "newest". ``get_model(slug, user) -> Model`` (``.latest`` is the current ``ModelVersion``;
    unlisted models are readable by slug); ``list_versions(slug, user) -> list[ModelVersion]``;
    ``all_tags(user) -> list[str]``.
``svc.models``
    ``create(user, meta, visibility="private") -> Model`` (meta: ``engine.spec.ModelMeta`` or dict);
    ``add_version(user, slug, dsl, input_schema=None, changelog="", draft=False) -> ModelVersion``
    (drafts are visible to the author only);
    ``fork(user, slug, new_slug=None, name=None) -> Model`` (private copy of the latest version);
    ``set_visibility(user, slug, visibility)`` ("public" | "unlisted" | "private");
    ``list_mine(user) -> list[ModelSummary]``.
``svc.runs``
    ``run_model(user, slug, inputs, version=None) -> RunOutcome`` with ``run_id, result (RunResult),
    cached, warnings, model_slug, version``; ``remaining_today(user) -> int``;
    ``list_runs(user, limit=50) -> list[RunRecord]``; ``get_run(user, run_id) -> RunRecord``.
``svc.publishing``
    ``publish(user, run_id, title, summary="", visibility="public") -> Artifact``;
    ``get_artifact(slug, user=None, count_view=True, browser_key=None) -> Artifact`` (``.result()``
    rebuilds the ``RunResult``; unlisted artifacts are readable by slug, never listed; a view counts
    once per viewer per day: the user, or a hash of ``browser_key`` for an anonymous visitor);
    ``list_artifacts(user=None, mine=False, limit=50) -> list[Artifact]``.
``svc.social``
    ``save(user, slug)``, ``unsave(user, slug)``, ``is_saved(user, slug) -> bool``,
    ``list_saved(user) -> list[ModelSummary]``; ``rate(user, slug, rating, review="") -> Rating``
    (1-5, one per user per model, rating again replaces it);
    ``ratings(slug, user=None) -> RatingSummary`` (average, count, reviews, mine).

``svc.builder`` (``services.authoring.service.BuilderService``)
    ``open(user, slug=None, start_from=None) -> BuilderSession`` (the autosaved draft, else the model or an
    empty one); ``autosave(user, session)``; ``discard(user, key)``; ``drafts(user)``; ``check_slug(slug)``;
    ``save(user, session, changelog) -> Saved`` (a private model, or a version of one's own);
    ``preview.preview(user, draft, step_id, live=False) -> Preview`` (not recorded, own rate limit).
    Every edit is a function of ``services.authoring.edits`` applied with ``session.apply(edit, ...)``.

Records (frozen dataclasses, ``contracts.records``): ``User, ModelSummary, Model, ModelVersion,
RunRecord, Artifact, Rating, RatingSummary``; ``RunOutcome`` in ``services.runs``.

Errors (``services.errors``; ``str(error)`` is a sentence a user can act on, ``error.code`` is stable):
``ServiceError`` > ``AuthError`` (> ``AuthRequired`` > ``SessionExpired``), ``PermissionDenied``, ``NotFoundError``,
``RateLimitExceeded`` (``kind`` "daily" | "minute", ``limit``, ``resets_at``), ``InputInvalid``
(``fields``: name -> sentence, for per-field form errors), ``RunFailed`` (the run was recorded as
failed; ``run_id``, ``step_id``), ``ConflictError`` (e.g. a slug already taken), ``StoreUnavailable``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from services.config import Settings
    from services.facade import Services


def build(settings: Settings | None = None, **overrides: Any) -> Services:
    """Build the services over the configured store (sqlite by default, Supabase when configured)."""
    from services.facade import build as _build

    return _build(settings, **overrides)


__all__ = ["build"]
