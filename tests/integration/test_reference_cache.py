"""A version's reference profile as the check stages read it (``store.models.reference_for``):
one statement, the same values the ORM's JSON type gave, and the joint sample's DataFrame built
once per cached profile, never served from an older profile."""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import event

from monitor.db.engine import get_engine
from monitor.spec import parse_spec
from monitor.store import models as store
from tests.conftest import session

SAMPLE = [{"x": 1.5, "c": "a", "__score__": 0.25}, {"x": None, "c": "b", "__score__": 0.75}]


def _model(s, profile: dict):
    spec = parse_spec({"models": [{"name": "ref", "task": "binary_classification",
                                   "columns": {"numeric": ["x"], "categorical": ["c"]}}]})[0]
    model, _ = store.upsert_model(s, spec)
    version, _ = store.add_version(s, model.id, "1")
    store.save_reference(s, version, profile, {"recall": 0.9, "auc": None}, rows=2, drift_reference=b"\x00bytes\xff")
    return model.id


def _read_counting_statements(db_url: str, model_id: int):
    """A fresh process's read of version 1's profile, and the statements it sent."""
    store.REFERENCES.clear()
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(get_engine(db_url), "before_cursor_execute", listener)
    try:
        with session(db_url) as s:
            return store.reference_for(s, model_id, "1"), statements
    finally:
        event.remove(get_engine(db_url), "before_cursor_execute", listener)


def test_the_profile_is_read_in_one_statement_with_the_values_the_orm_gave(db_url):
    profile = {"sample": SAMPLE, "quality": {"x": {"type": "numeric", "histogram": [1, 2]}},
               "nested": {"big": 2**70, "neg": -3, "tiny": 1e-300, "unicode": "é€😀", "flag": True}}
    with session(db_url) as s:
        model_id = _model(s, profile)
    reference, statements = _read_counting_statements(db_url, model_id)
    assert len(statements) == 2  # which row (id, created_at), then the row itself
    assert reference.profile == profile and reference.baseline_kpis == {"recall": 0.9, "auc": None}
    assert reference.drift_reference == b"\x00bytes\xff" and reference.rows == 2
    with session(db_url) as s:  # what the ORM's JSON type decodes from the same row
        row = s.get(store.ReferenceProfile, reference.id)
        assert (row.profile, row.baseline_kpis, row.drift_reference) == (
            reference.profile, reference.baseline_kpis, reference.drift_reference)


def test_the_sample_frame_is_built_once_per_profile_and_a_new_profile_has_its_own(db_url):
    with session(db_url) as s:
        model_id = _model(s, {"sample": SAMPLE})
    with session(db_url) as s:
        first = store.reference_for(s, model_id, "1")
        assert first.sample is first.sample  # built once, then shared by every detect of the version
        pd.testing.assert_frame_equal(first.sample, pd.DataFrame.from_records(SAMPLE))
        mine = first.sample.copy(deep=False)  # what load_context hands the rules
        mine.loc[0, "x"], mine["extra"] = -1.0, 1
        assert first.sample.loc[0, "x"] == 1.5 and "extra" not in first.sample  # the shared one is unchanged
    with session(db_url) as s:
        store.save_reference(s, store.get_version(s, model_id, "1"), {"sample": [{"x": 9.0, "c": "z"}]}, {}, rows=1)
    with session(db_url) as s:
        new = store.reference_for(s, model_id, "1")
    assert new is not first and new.sample["x"].tolist() == [9.0] and new.sample["c"].tolist() == ["z"]


def test_a_profile_without_a_sample_gives_an_empty_frame(db_url):
    with session(db_url) as s:
        model_id = _model(s, {"quality": {}})
    with session(db_url) as s:
        assert store.reference_for(s, model_id, "1").sample.empty


def test_a_large_drift_reference_is_read_in_pieces_byte_for_byte(db_url, monkeypatch):
    """A drift reference larger than a piece (``monitor.db.blobs``) comes back whole and exact,
    its last piece a short one; a small one comes with the row (the test above: two statements)."""
    from monitor.db import blobs

    monkeypatch.setattr(blobs, "PIECE", 1000)
    large = bytes(range(256)) * 10 + b"\x00tail"  # 2,565 bytes: pieces of 1,000, 1,000 and 565
    with session(db_url) as s:
        model_id = _model(s, {})
        store.save_reference(s, store.get_version(s, model_id, "1"), {}, {}, rows=1, drift_reference=large)
    reference, statements = _read_counting_statements(db_url, model_id)
    assert bytes(reference.drift_reference) == large and reference.drift_reference.readonly
    # SQLite reads through its incremental blob I/O, beside the statements; elsewhere one per
    # piece; then one statement checks that the row is still the one whose pieces were read
    assert len(statements) == (2 + 1 if db_url.startswith("sqlite") else 2 + 3 + 1)


def test_a_value_whose_row_is_deleted_before_it_is_read_raises_blob_changed(db_url, monkeypatch):
    from monitor.db import blobs
    from monitor.db.schema import ReferenceProfile

    monkeypatch.setattr(blobs, "PIECE", 100)
    with session(db_url) as s:
        model_id = _model(s, {})
        store.save_reference(s, store.get_version(s, model_id, "1"), {}, {}, rows=1, drift_reference=b"x" * 250)
        profile_id = s.query(ReferenceProfile.id).scalar()
    with session(db_url) as s:
        s.query(ReferenceProfile).delete()
        with pytest.raises(blobs.BlobChanged, match="row"):
            blobs.read_blob(s, ReferenceProfile.drift_reference, ReferenceProfile.id, profile_id, 250)


def test_a_row_replaced_by_one_of_the_same_size_is_not_mixed_into_the_old_one(db_url, monkeypatch):
    """The row was read (its profile, its creation time), then replaced before its drift reference
    was read: SQLite may give the new row the old id, and an equal size passes every piece. The
    creation time, read again after the pieces, tells; the error is transient (the stage retries
    and reads the new row)."""
    from monitor.db import blobs
    from monitor.db.schema import ReferenceProfile
    from monitor.errors import TransientError

    monkeypatch.setattr(blobs, "PIECE", 100)
    with session(db_url) as s:
        model_id = _model(s, {})
        store.save_reference(s, store.get_version(s, model_id, "1"), {"v": "old"}, {}, rows=1,
                             drift_reference=b"a" * 350)
        old_id, old_created = s.query(ReferenceProfile.id, ReferenceProfile.created_at).one()
    with session(db_url) as s:
        store.save_reference(s, store.get_version(s, model_id, "1"), {"v": "new"}, {}, rows=1,
                             drift_reference=b"b" * 350)
    with session(db_url) as s, pytest.raises(blobs.BlobChanged) as raised:
        blobs.read_blob(s, ReferenceProfile.drift_reference, ReferenceProfile.id, old_id, 350,
                        unchanged=(ReferenceProfile.created_at, old_created))
    assert isinstance(raised.value, TransientError)
