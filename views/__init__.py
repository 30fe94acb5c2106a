"""The app's pages, one script each (run by ``st.navigation`` in app.py; a package only so import-linter sees them)."""
