"""What a verified registry-hook delivery does: record it once, record the version, decide.

The HTTP route (``frontdoors/api/routes/hooks.py``) verifies the signature, then calls
:func:`receive` in one transaction and publishes the check after the commit. Nothing here is long:
a version announced without reference data inherits the newest reference profile (as
``on_model_update`` does), and the check itself runs on a worker.

Events acted on:

* plain ``{"model": NAME, "version": V, "serving": true}``: record V (serving unless
  ``serving: false``) and check it;
* MLflow ``model_version.created``: record the new version (not serving) and check it;
* MLflow ``model_version_alias.created`` for the model's serving alias: V serves now; check it.

Everything else verified is recorded and answered ``ignored``. A version that is already
recorded (``model_version.created``) or already serving (alias) does nothing more: that is how
the echo of modelwatch's own rollback or retrain through MLflow is recognised (the adapter holds
the model row's lock until its mirror commits, and :func:`receive` waits on that lock before it
reads the serving version).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from monitor import audit
from monitor.db.schema import Model, RegistryDelivery, utcnow
from monitor.registry import builtin
from monitor.registry.adapters.base import hold_model
from monitor.registry.signatures import HookRejected, VerifiedDelivery
from monitor.store import models as store

#: Deliveries are kept this long: far beyond the signature tolerance that bounds a replay.
RETENTION = dt.timedelta(days=30)
MLFLOW_VERSION_CREATED = "model_version.created"
MLFLOW_ALIAS_CREATED = "model_version_alias.created"


@dataclass(frozen=True)
class RegistryEvent:
    """A delivery's body, validated: which registry model, which version, what happened."""

    event: str                  # "plain", or MLflow's "<entity>.<action>"
    name: str | None            # the modelwatch model (plain) or MLflow's registered model name
    version: str | None
    alias: str | None = None
    serving: bool = True


@dataclass(frozen=True)
class HookOutcome:
    status: str                 # accepted | duplicate | ignored | recorded
    detail: str
    delivery_id: str
    model: str | None = None
    version: str | None = None
    check_delay: float | None = None   # set when a check must be enqueued

    def to_json(self) -> dict[str, Any]:
        return {"status": self.status, "detail": self.detail, "delivery_id": self.delivery_id,
                "model": self.model, "version": self.version}


def _json(body: bytes) -> dict[str, Any]:
    """The body as a JSON object; 400 if it is not JSON, nests deeper than any registry event
    does, or holds text the database cannot store (NUL, a lone surrogate)."""
    from monitor.storable import MAX_JSON_DEPTH, json_depth, unstorable

    if json_depth(body) > MAX_JSON_DEPTH:
        raise HookRejected(400, f"the body nests arrays/objects more than {MAX_JSON_DEPTH} levels deep")
    try:
        document = json.loads(body)
    except ValueError as exc:  # UnicodeDecodeError included
        raise HookRejected(400, f"the body is not JSON: {exc}") from None
    if not isinstance(document, dict):
        raise HookRejected(400, "the body must be a JSON object")
    problem = unstorable(document)
    if problem:
        raise HookRejected(400, f"the body's field {problem}")
    return document


def _version(value: Any, field: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)) or not str(value).strip() or len(str(value)) > 64:
        raise HookRejected(400, f"{field} must be a version id (a string or integer of 1-64 characters), got {value!r}")
    return str(value).strip()


def parse(source: str, body: bytes) -> RegistryEvent:
    """Validate the body of a verified delivery; :class:`HookRejected` (400) names what is wrong."""
    document = _json(body)
    if source == "plain":
        unknown = sorted(set(document) - {"model", "version", "serving"})
        if unknown:
            raise HookRejected(400, f"unknown field(s) {unknown}; the plain form is "
                                    '{"model": NAME, "version": V, "serving": true}')
        if not isinstance(document.get("model"), str) or not document["model"]:
            raise HookRejected(400, "model must be the name of a model registered in modelwatch")
        serving = document.get("serving", True)
        if not isinstance(serving, bool):
            raise HookRejected(400, f"serving must be true or false, got {serving!r}")
        return RegistryEvent("plain", document["model"], _version(document.get("version"), "version"), serving=serving)
    entity, action, data = document.get("entity"), document.get("action"), document.get("data")
    if not isinstance(entity, str) or not isinstance(action, str) or not isinstance(data, dict):
        raise HookRejected(400, 'an MLflow webhook body has "entity", "action" and a "data" object')
    event = f"{entity}.{action}"
    if event not in (MLFLOW_VERSION_CREATED, MLFLOW_ALIAS_CREATED):
        return RegistryEvent(event, data.get("name") if isinstance(data.get("name"), str) else None, None)
    if not isinstance(data.get("name"), str):
        raise HookRejected(400, f"{event}: data.name must be the registered model's name")
    alias = data.get("alias") if event == MLFLOW_ALIAS_CREATED else None
    if event == MLFLOW_ALIAS_CREATED and not isinstance(alias, str):
        raise HookRejected(400, f"{event}: data.alias must be a string")
    return RegistryEvent(event, data["name"], _version(data.get("version"), "data.version"), alias=alias)


def _watching(session: Session, source: str, event: RegistryEvent) -> Model | None:
    """The modelwatch model the event is about: by name (plain), or the one whose spec points
    at this MLflow registered model (``registry.kind: mlflow``, ``registry.name``)."""
    if source == "plain":
        return store.get_model(session, event.name)  # NotFound -> 404 naming the known models
    for model in store.list_models(session):
        spec = store.spec_of(model)
        if spec.registry.kind == "mlflow" and (spec.registry.name or model.name) == event.name:
            return model
    return None


def duplicate_of(session: Session, delivery: VerifiedDelivery) -> HookOutcome | None:
    """The answer to a replayed delivery id, or None if the id is new."""
    seen = session.scalar(select(RegistryDelivery).where(RegistryDelivery.source == delivery.source,
                                                         RegistryDelivery.delivery_id == delivery.delivery_id))
    if seen is None:
        return None
    model = session.get(Model, seen.model_id) if seen.model_id is not None else None
    return HookOutcome("duplicate", f"delivery already received at {seen.received_at.isoformat()} "
                                    f"({seen.outcome}); nothing done again", delivery.delivery_id,
                       model.name if model else None, seen.version)


def receive(session: Session, delivery: VerifiedDelivery, event: RegistryEvent) -> HookOutcome:
    """Record the delivery (unique per source and id) and what it means; say whether to check.

    A concurrent copy of the same delivery makes the flush raise ``IntegrityError``: the caller
    rolls back and answers with :func:`duplicate_of`.
    """
    found = duplicate_of(session, delivery)
    if found is not None:
        return found
    model = _watching(session, delivery.source, event)
    row = RegistryDelivery(source=delivery.source, delivery_id=delivery.delivery_id, received_at=utcnow(),
                           event=event.event[:64], model_id=model.id if model else None, version=event.version,
                           outcome="received", detail="")
    session.add(row)
    session.flush()
    session.execute(delete(RegistryDelivery).where(RegistryDelivery.received_at < utcnow() - RETENTION))
    outcome = _decide(session, delivery, event, model)
    row.outcome, row.detail = outcome.status, outcome.detail
    session.flush()
    return outcome


def _decide(session: Session, delivery: VerifiedDelivery, event: RegistryEvent, model: Model | None) -> HookOutcome:
    def answer(status: str, detail: str, check: bool = False) -> HookOutcome:
        delay = store.spec_of(model).registry_check_delay if check and model is not None else None
        return HookOutcome(status, detail, delivery.delivery_id, model.name if model else None, event.version, delay)

    if model is None:
        return answer("ignored", f"no modelwatch model watches MLflow model {event.name!r} "
                                 "(set registry: {kind: mlflow, name: ...} in its spec)")
    if event.event not in ("plain", MLFLOW_VERSION_CREATED, MLFLOW_ALIAS_CREATED):
        return answer("ignored", f"event {event.event} does not change what modelwatch checks")
    spec = store.spec_of(model)
    if event.event == MLFLOW_ALIAS_CREATED and event.alias != spec.registry.alias:
        return answer("ignored", f"alias {event.alias!r} is not the serving alias {spec.registry.alias!r}")
    hold_model(session, model)  # waits for a rollback/retrain still mirroring this model's registry
    existing = store.get_version(session, model.id, event.version)
    serving_now = store.serving_version(session, model.id)
    if event.event == MLFLOW_VERSION_CREATED and existing is not None:
        return answer("recorded", f"version {event.version} is already recorded (registered by modelwatch "
                                  "or announced before); no new check")
    wants_serving = event.serving if event.event == "plain" else event.event == MLFLOW_ALIAS_CREATED
    if event.event == MLFLOW_ALIAS_CREATED and serving_now is not None and serving_now.version == event.version:
        return answer("recorded", f"version {event.version} already serves (modelwatch's own move or a "
                                  "repeated alias); no new check")
    source = "mlflow" if delivery.source == "mlflow" else "hook"
    builtin.register(session, model, spec, event.version, serving=wants_serving, source=source,
                     details={"announced_by": f"registry hook ({delivery.source})", "delivery_id": delivery.delivery_id})
    promoted = wants_serving and (serving_now is None or serving_now.version != event.version)
    audit.record(session, actor=f"registry:{delivery.source}", action="promote" if promoted else "register",
                 subject=f"version:{event.version}", model_id=model.id,
                 reason=f"{event.event} delivery {delivery.delivery_id}",
                 details={"event": event.event, "alias": event.alias, "serving": wants_serving})
    return answer("accepted", f"version {event.version} recorded{' and serving' if wants_serving else ''}; "
                              "check enqueued", check=True)


def forget(session: Session, delivery: VerifiedDelivery) -> None:
    """Drop a delivery's record so the sender's retry is processed (the check could not be published)."""
    session.execute(delete(RegistryDelivery).where(RegistryDelivery.source == delivery.source,
                                                   RegistryDelivery.delivery_id == delivery.delivery_id))
