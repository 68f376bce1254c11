"""Model signal receivers (connected in AppConfig.ready)."""

from __future__ import annotations
