"""Models, their versions and reference profiles."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, object_session

from monitor.db.blobs import read_blob, small_value
from monitor.db.schema import Alert, Model, ModelVersion, ReferenceProfile, utcnow
from monitor.errors import NotFound
from monitor.spec import ModelSpec
from monitor.store.cache import LruCache

if TYPE_CHECKING:
    import pandas as pd

#: parsed specs by (database, model id, its row's updated_at); a ModelSpec is frozen, so sharing is safe
SPECS: LruCache[ModelSpec] = LruCache(2048)
#: reference profiles by (database, row id, created_at): a new profile is a new row (:func:`save_reference`)
REFERENCES: "LruCache[Reference]" = LruCache(256)
#: the reference profile a run's stages read, by (database, run id) (:func:`run_reference`)
RUN_REFERENCES: "LruCache[Reference | None]" = LruCache(64)


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


def get_model_and_serving(session: Session, name: str) -> tuple[Model, str | None]:
    """:func:`get_model` and its :func:`serving_version`'s version (None: no version serves), in one
    query."""
    row = session.execute(
        select(Model, ModelVersion.version).where(Model.name == name)
        .outerjoin(ModelVersion, (ModelVersion.model_id == Model.id) & ModelVersion.serving.is_(True))).first()
    if row is None:
        get_model(session, name)  # raises NotFound naming the registered models
    return row[0], row[1]


def get_model_by_id(session: Session, model_id: int) -> Model:
    model = session.get(Model, model_id)
    if model is None:
        raise NotFound(f"no model with id {model_id}")
    return model


def model_of_alert(session: Session, alert_id: int) -> Model:
    """The model an alert is about, read with the alert in one SELECT (a notification's delivery
    needs its spec, not the alert row)."""
    model = session.scalars(select(Model).join(Alert, Alert.model_id == Model.id).where(Alert.id == alert_id)).first()
    if model is None:
        raise NotFound(f"no alert with id {alert_id}")
    return model


def spec_of(model: Model) -> ModelSpec:
    """The model's validated spec, parsed once per process for each version of its row (every
    write of ``models.spec`` goes through :func:`upsert_model`, whose UPDATE moves ``updated_at``)."""
    session = object_session(model)
    if session is None or model.id is None or model.updated_at is None:
        return ModelSpec.model_validate(model.spec)
    key = (_database(session), model.id, model.updated_at)
    return SPECS.get_or_make(key, lambda: ModelSpec.model_validate(model.spec))


def _database(session: Session) -> str:
    """Which database a cached entry came from: ids repeat across databases (tests, tools)."""
    return str(session.get_bind().url)


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


@dataclass(frozen=True)
class Reference:
    """A version's reference profile as a check reads it; shared by the stages of every run of
    the version in this process, so treat its dicts as read-only."""
    id: int
    model_version_id: int
    rows: int
    profile: dict[str, Any]
    baseline_kpis: dict[str, Any]
    drift_reference: bytes | memoryview | None

    @cached_property
    def sample(self) -> "pd.DataFrame":
        """The profile's joint sample (``profile["sample"]``, records) as a DataFrame, built once
        per cached profile instead of once per detect stage. Shared: callers take a shallow copy
        (``copy(deep=False)``; pandas' copy-on-write keeps the shared one unchanged)."""
        import pandas as pd

        return pd.DataFrame.from_records(self.profile.get("sample") or [])


def save_reference(session: Session, version: ModelVersion, profile: dict, baseline: dict, rows: int,
                   drift_reference: bytes | None = None) -> ReferenceProfile:
    """Store the version's reference profile as a NEW row (the old one, if any, is deleted): the
    row's id and ``created_at`` are what the per-process cache (:func:`reference_for`) is keyed by
    (SQLite may give the new row the deleted one's id; its ``created_at`` still differs)."""
    session.execute(delete(ReferenceProfile).where(ReferenceProfile.model_version_id == version.id))
    saved = ReferenceProfile(model_version_id=version.id, profile=profile, baseline_kpis=baseline, rows=rows,
                             drift_reference=drift_reference)
    session.add(saved)
    session.flush()
    return saved


def reference_for(session: Session, model_id: int, version: str | None) -> Reference | None:
    """The version's reference profile, or the newest one of the model if it has none.

    One small query finds the profile's row (id, created_at); the profile itself (JSON and the
    drift reference's bytes) is read and decoded once per process and row.
    """
    query = (select(ReferenceProfile.id, ReferenceProfile.created_at)
             .join(ModelVersion, ReferenceProfile.model_version_id == ModelVersion.id)
             .where(ModelVersion.model_id == model_id))
    found = session.execute(query.where(ModelVersion.version == version)).first() if version is not None else None
    if found is None:
        found = session.execute(query.order_by(ModelVersion.id.desc()).limit(1)).first()
    if found is None:
        return None
    profile_id, created_at = found
    return REFERENCES.get_or_make((_database(session), profile_id, created_at),
                                  lambda: _load_reference(session, profile_id))


def run_reference(session: Session, run: Any) -> Reference | None:
    """:func:`reference_for` the run's model and version, looked up once per run and process: the
    evaluate, detect and report stages of a run in one worker read the same profile without
    asking the database again (a profile replaced while a run is under way may then apply only
    from the next run; a stage in another process looks it up afresh)."""
    return RUN_REFERENCES.get_or_make((_database(session), run.id),
                                      lambda: reference_for(session, run.model_id, run.version))


def _load_reference(session: Session, profile_id: int) -> Reference:
    """The profile's row in one Core statement (the ORM built an identity-mapped object that
    nothing here needs), the drift reference with it when it is small; a large one (tens of MB)
    is read in pieces into one buffer (``monitor.db.blobs``: fetched whole, the driver's copy
    beside Python's raised a worker's RSS by twice its size, three times on PostgreSQL)."""
    row = session.execute(select(
        ReferenceProfile.id, ReferenceProfile.model_version_id, ReferenceProfile.rows, ReferenceProfile.profile,
        ReferenceProfile.baseline_kpis, ReferenceProfile.created_at,
        func.length(ReferenceProfile.drift_reference).label("drift_bytes"),
        small_value(ReferenceProfile.drift_reference).label("drift_small")).where(ReferenceProfile.id == profile_id)).one()
    drift = row.drift_small
    if drift is None and row.drift_bytes is not None:
        drift = read_blob(session, ReferenceProfile.drift_reference, ReferenceProfile.id, profile_id, row.drift_bytes,
                          unchanged=(ReferenceProfile.created_at, row.created_at))
    return Reference(id=row.id, model_version_id=row.model_version_id, rows=row.rows, profile=row.profile,
                     baseline_kpis=row.baseline_kpis, drift_reference=drift)
