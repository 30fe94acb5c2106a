"""The shapes that cross layers, with no logic of their own and no dependency on any other package here.

``dsl`` (the DSL and input schema), ``inputs`` (coercing run inputs to the schema), ``data`` (the
data-access protocols, provenance and dataset contracts), ``result`` (a run's result), ``records``
(what the store returns), ``rules`` (vocabularies and quotas), ``limits``, ``settings`` and
``errors`` (the one error taxonomy). Engine, gateways and store depend on this package and never on
each other; the services compose them (import-linter contracts in pyproject.toml keep it so).
"""
