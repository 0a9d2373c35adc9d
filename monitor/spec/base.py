"""What every block of the spec shares: unknown fields are errors and a parsed spec never changes."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
