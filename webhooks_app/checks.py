"""System checks for the app's settings and setup (ids webhooks_app.E001...)."""

from __future__ import annotations
