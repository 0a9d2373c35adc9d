"""The per-process caches of specs and reference profiles never serve a changed one."""

from __future__ import annotations

from monitor.spec import parse_spec
from monitor.store import models as store
from tests.conftest import session


def _spec(recall_drop: float):
    return parse_spec({"models": [{"name": "cached", "task": "binary_classification",
                                   "columns": {"numeric": ["x"]}, "rules": {"recall_drop_pct": recall_drop}}]})[0]


def test_a_changed_spec_or_a_new_reference_profile_is_read_again(db_url):
    with session(db_url) as s:
        model, _ = store.upsert_model(s, _spec(10))
        version, _ = store.add_version(s, model.id, "1")
        store.save_reference(s, version, {"sample": [1]}, {"recall": 0.9}, rows=1)
        model_id = model.id
    with session(db_url) as s:
        first = store.spec_of(store.get_model_by_id(s, model_id))
        assert store.spec_of(store.get_model_by_id(s, model_id)) is first  # parsed once
        old = store.reference_for(s, model_id, "1")
        assert store.reference_for(s, model_id, None) is old and old.baseline_kpis == {"recall": 0.9}
    with session(db_url) as s:
        store.upsert_model(s, _spec(25))
        store.save_reference(s, store.get_version(s, model_id, "1"), {"sample": [2]}, {"recall": 0.7}, rows=2)
    with session(db_url) as s:
        assert store.spec_of(store.get_model_by_id(s, model_id)).rules.recall_drop_pct == 25
        new = store.reference_for(s, model_id, "1")
        assert (new.profile, new.baseline_kpis, new.rows) == ({"sample": [2]}, {"recall": 0.7}, 2)
