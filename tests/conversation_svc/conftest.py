"""Fixtures of the conversation tests live in tests/conftest.py (shared with mesh tests)."""
