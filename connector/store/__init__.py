"""Persistence: tables, engine and session handling, migrations."""
