"""Dependencies every router shares: the settings and the database URL of this app."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Request

from monitor.config import Settings


def settings(request: Request) -> Settings:
    return request.app.state.settings


def database_url(request: Request) -> str:
    return request.app.state.settings.effective_database_url


INT32_MAX, INT64_MAX = 2**31 - 1, 2**63 - 1

#: The id of a row whose key is an ``Integer`` column (alerts, silences, recovery actions): a
#: positive 32-bit integer, so an id beyond PostgreSQL's ``integer`` is a 422 naming the bound
#: (``DELETE /v1/silences/2147483648``), not ``integer out of range``.
RowId = Annotated[int, Path(ge=1, le=INT32_MAX, description="Row id (a positive 32-bit integer).")]
