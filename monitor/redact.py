"""Hide secrets before a value leaves the service (API answers, logs).

A model spec carries webhook secrets and channel URLs; settings carry database and broker URLs
with passwords. Whatever shows them to a reader goes through :func:`redact` (structures) or
:func:`redact_url` (one URL) first.

>>> redact({"webhook": {"url": "https://ops:pw@x.example/hook", "secret": "s3cret"}})
{'webhook': {'url': 'https://ops:***@x.example/hook', 'secret': '***'}}
>>> redact_url("redis://:hunter2@redis:6379/0")
'redis://:***@redis:6379/0'
"""

from __future__ import annotations

import re
from typing import Any

HIDDEN = "***"

#: Keys whose values are secrets wherever they appear.
SECRET_KEY = re.compile(r"secret|passw|token|api[_-]?key|authori[sz]ation|credential|private[_-]?key|signature",
                        re.IGNORECASE)
#: Channel types whose URL is itself the credential (a Slack incoming-webhook URL).
URL_IS_SECRET = frozenset({"slack", "teams", "discord"})

_USERINFO = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<user>[^:@/]*):(?P<password>[^@/]*)@")
_SECRET_QUERY = re.compile(r"([?&](?:[^=&#]*(?:secret|passw|token|key|sig)[^=&#]*)=)[^&#]*", re.IGNORECASE)


def redact_url(url: str) -> str:
    """``scheme://user:password@host`` -> ``scheme://user:***@host``; secret-looking query values hidden."""
    hidden = _USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:{HIDDEN}@", url, count=1)
    return _SECRET_QUERY.sub(lambda m: m.group(1) + HIDDEN, hidden)


def redact(value: Any, *, _parent: str = "") -> Any:
    """A copy of ``value`` (dicts, lists, strings) with secret values replaced by ``***``."""
    if isinstance(value, dict):
        # A stored channel is {"type": "slack", "config": {...}}: its config is the slack's.
        kind = str(value.get("type", "")).lower()
        out = {}
        for key, item in value.items():
            name = str(key)
            if SECRET_KEY.search(name) and isinstance(item, (str, bytes)) and item:
                out[key] = HIDDEN
            elif _parent in URL_IS_SECRET and isinstance(item, str) and "://" in item:
                out[key] = HIDDEN
            else:
                out[key] = redact(item, _parent=kind if kind in URL_IS_SECRET else name.lower())
        return out
    if isinstance(value, (list, tuple)):
        if _parent in URL_IS_SECRET:
            return [HIDDEN if isinstance(v, str) and "://" in v else redact(v, _parent=_parent) for v in value]
        return [redact(v, _parent=_parent) for v in value]
    if isinstance(value, str) and "://" in value:
        if _parent in URL_IS_SECRET:
            return HIDDEN
        return redact_url(value)
    return value
