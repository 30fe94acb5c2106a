"""/builder (a new model), /builder?slug=X (edit your own model: saving adds a version), /builder?from=X (start from a model)."""

from components.builder.page import builder_page

builder_page()
