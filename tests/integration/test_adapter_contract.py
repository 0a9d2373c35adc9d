"""The contract every registry adapter keeps, run over the whole ADAPTERS family.

For each registered adapter (``builtin`` on SQLite; ``mlflow`` against the real MLflow server
of ``tests/integration/mlflow_server.py``): a candidate does not serve until promoted, promote
and rollback return the move they made, versions list oldest first, a rollback with nothing
earlier is None, and every move is mirrored in modelwatch's own versions table (what checks and
the stale-reason guard read). An adapter added without a registry below fails this test until
it gets one.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from monitor.plugins import ADAPTERS
from monitor.registry import Move, RegistryAdapter, adapter_for
from monitor.spec import ModelSpec
from monitor.store import models as store
from tests.conftest import session
from tests.support.mlflow_server import mlflow_server  # noqa: F401  (fixture)

pytestmark = pytest.mark.integration

#: Per adapter: its ``registry`` block, given the test's request (to start the peer it needs).
REGISTRIES: dict[str, Callable[[pytest.FixtureRequest], dict]] = {
    "builtin": lambda request: {"kind": "builtin"},
    "mlflow": lambda request: {"kind": "mlflow", "tracking_uri": request.getfixturevalue("mlflow_server"),
                               "name": f"contract-{uuid.uuid4().hex[:8]}", "alias": "champion"},
}


def _reference(n: int = 200) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    label = (rng.random(n) < 0.3).astype(int)
    return pd.DataFrame({"amount": rng.gamma(2, 50, n), "label": label, "prediction": label,
                         "score": label * 0.8 + 0.1})


def test_every_adapter_has_a_registry_here():
    assert sorted(REGISTRIES) == ADAPTERS.names(), "add the registry block (and its peer) of each new adapter"


@pytest.mark.parametrize("kind", ADAPTERS.names())
def test_the_adapter_registers_promotes_rolls_back_and_mirrors_every_move(kind, sqlite_url, request):
    cls = ADAPTERS.get(kind)
    assert issubclass(cls, RegistryAdapter) and cls.name == kind and cls.__doc__.strip()
    spec = ModelSpec.model_validate({"name": "fraud", "task": "binary_classification",
                                     "columns": {"numeric": ["amount"]}, "registry": REGISTRIES[kind](request)})
    with session(sqlite_url) as s:
        model, _ = store.upsert_model(s, spec)
        registry = adapter_for(model, spec)
        assert isinstance(registry, cls)
        assert registry.serving_version() is None and registry.rollback() is None
        first = registry.register_candidate("1", reference=_reference())
        assert registry.serving_version() is None  # a candidate does not serve until promoted
        assert registry.promote(first) == Move(None, first)
        second = registry.register_candidate(None)
        assert second != first
        assert registry.promote(second) == Move(first, second)
        assert [v.version for v in registry.list_versions()] == [first, second]
    with session(sqlite_url) as s:
        registry = adapter_for(store.get_model(s, "fraud"), spec)
        assert registry.rollback() == Move(second, first)
        assert registry.serving_version() == first
        assert [(v.version, v.serving) for v in registry.list_versions()] == [(first, True), (second, False)]
    with session(sqlite_url) as s:  # mirrored in modelwatch's table, committed with the caller's session
        model = store.get_model(s, "fraud")
        assert store.serving_version(s, model.id).version == first
        assert adapter_for(model, spec).rollback() is None  # nothing earlier than the first version
