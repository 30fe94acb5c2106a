"""/editor (a new code model from a template), /editor?slug=X (a new version of your own code model).

Write Python or JavaScript in an editor with syntax highlighting and line numbers, test-run it on the
sample data (output, logs, the limits used), and save: a new model or a new version with a changelog,
which goes to an admin's review before anyone else can see or run it.
"""

from components.code_editor_panel import editor_page

editor_page()
