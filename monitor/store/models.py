"""Models, their versions and reference profiles."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from monitor.db.schema import Model, ModelVersion, ReferenceProfile, utcnow
from monitor.errors import NotFound
from monitor.spec import ModelSpec


def upsert_model(session: Session, spec: ModelSpec) -> tuple[Model, bool]:
    """Register a model or update its spec. Returns the row and whether it was created."""
    model = session.scalar(select(Model).where(Model.name == spec.name))
    created = model is None
    if created:
        model = Model(name=spec.name)
        session.add(model)
    model.task = spec.task.value
    model.spec = spec.model_dump(mode="json")
    model.every_seconds = spec.every
    model.window_seconds = spec.window
    model.status = "active"
    session.flush()
    return model, created


def get_model(session: Session, name: str) -> Model:
    model = session.scalar(select(Model).where(Model.name == name))
    if model is None:
        known = session.scalars(select(Model.name).order_by(Model.name)).all()
        hint = f"; registered models: {', '.join(known)}" if known else "; no model is registered yet"
        raise NotFound(f"no model named {name!r}{hint} (register it with `modelwatch apply -f SPEC`)")
    return model


def get_model_by_id(session: Session, model_id: int) -> Model:
    model = session.get(Model, model_id)
    if model is None:
        raise NotFound(f"no model with id {model_id}")
    return model


def spec_of(model: Model) -> ModelSpec:
    return ModelSpec.model_validate(model.spec)


def list_models(session: Session) -> list[Model]:
    return list(session.scalars(select(Model).order_by(Model.name)))


def active_with_serving(session: Session) -> list[tuple[int, str, float, float, str | None]]:
    """``(id, name, every_seconds, window_seconds, serving version or None)`` of every active
    model, in one query (the dispatcher's view of the fleet)."""
    serving = (select(ModelVersion.model_id, ModelVersion.version)
               .where(ModelVersion.serving.is_(True)).subquery())
    return [tuple(row) for row in session.execute(
        select(Model.id, Model.name, Model.every_seconds, Model.window_seconds, serving.c.version)
        .outerjoin(serving, serving.c.model_id == Model.id)
        .where(Model.status == "active").order_by(Model.name))]


def get_version(session: Session, model_id: int, version: str) -> ModelVersion | None:
    return session.scalar(
        select(ModelVersion).where(ModelVersion.model_id == model_id, ModelVersion.version == version)
    )


def list_versions(session: Session, model_id: int) -> list[ModelVersion]:
    return list(session.scalars(
        select(ModelVersion).where(ModelVersion.model_id == model_id).order_by(ModelVersion.id)
    ))


def serving_version(session: Session, model_id: int) -> ModelVersion | None:
    return session.scalar(
        select(ModelVersion).where(ModelVersion.model_id == model_id, ModelVersion.serving.is_(True))
    )


def add_version(session: Session, model_id: int, version: str, *, source: str = "builtin",
                artifact: bytes | None = None, details: dict | None = None) -> tuple[ModelVersion, bool]:
    """Record a version once; a second call with the same version returns the existing row."""
    row = get_version(session, model_id, version)
    if row is not None:
        return row, False
    row = ModelVersion(model_id=model_id, version=version, source=source, artifact=artifact,
                       details=details or {}, serving=False, status="registered")
    session.add(row)
    session.flush()
    return row, True


def set_serving(session: Session, model_id: int, version: str, *, previous_status: str = "retired") -> ModelVersion:
    """Make ``version`` the one serving traffic; the one serving before gets ``previous_status``."""
    target = get_version(session, model_id, version)
    if target is None:
        raise NotFound(f"model {model_id} has no version {version!r}")
    session.execute(
        update(ModelVersion)
        .where(ModelVersion.model_id == model_id, ModelVersion.serving.is_(True), ModelVersion.id != target.id)
        .values(serving=False, status=previous_status)
    )
    target.serving = True
    target.status = "serving"
    target.promoted_at = utcnow()
    session.flush()
    return target


def previous_serving(session: Session, model_id: int) -> ModelVersion | None:
    """The version that served before the current one (most recently promoted, not rolled back)."""
    return session.scalar(
        select(ModelVersion)
        .where(ModelVersion.model_id == model_id, ModelVersion.serving.is_(False),
               ModelVersion.promoted_at.is_not(None), ModelVersion.status != "rolled_back")
        .order_by(ModelVersion.promoted_at.desc())
        .limit(1)
    )


def save_reference(session: Session, version: ModelVersion, profile: dict, baseline: dict, rows: int,
                   drift_reference: bytes | None = None) -> ReferenceProfile:
    existing = session.scalar(select(ReferenceProfile).where(ReferenceProfile.model_version_id == version.id))
    if existing is None:
        existing = ReferenceProfile(model_version_id=version.id)
        session.add(existing)
    existing.profile, existing.baseline_kpis, existing.rows = profile, baseline, rows
    existing.drift_reference = drift_reference
    session.flush()
    return existing


def reference_for(session: Session, model_id: int, version: str | None) -> ReferenceProfile | None:
    """The version's reference profile, or the newest one of the model if it has none."""
    query = (select(ReferenceProfile).join(ModelVersion, ReferenceProfile.model_version_id == ModelVersion.id)
             .where(ModelVersion.model_id == model_id))
    if version is not None:
        found = session.scalar(query.where(ModelVersion.version == version))
        if found is not None:
            return found
    return session.scalar(query.order_by(ModelVersion.id.desc()).limit(1))
