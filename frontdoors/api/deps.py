"""Dependencies every router shares: the settings and the database URL of this app."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Request

from monitor.config import Settings


def settings(request: Request) -> Settings:
    return request.app.state.settings


def database_url(request: Request) -> str:
    return request.app.state.settings.effective_database_url


#: A row id in a path: a positive 64-bit integer, so an out-of-range id is a 422, not a database error.
RowId = Annotated[int, Path(ge=1, le=2**63 - 1, description="Row id (a positive 64-bit integer).")]
