"""Dependencies every router shares: the settings and the database URL of this app."""

from __future__ import annotations

from fastapi import Request

from monitor.config import Settings


def settings(request: Request) -> Settings:
    return request.app.state.settings


def database_url(request: Request) -> str:
    return request.app.state.settings.effective_database_url
