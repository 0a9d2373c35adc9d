"""Notify: a person decides. The action changes nothing; it records the decision request.

Its result (``decision_requested``) is what ``modelwatch recovery list``, the API and the report
show; the alert that caused it has already notified the model's channels. Nothing is verified
afterwards, since nothing was changed.
"""

from __future__ import annotations

from monitor.plugins import action
from monitor.recovery.actions.base import Action, ActionContext, Outcome
from monitor.store import models as store_models


@action("notify")
class Notify(Action):
    """Ask a person to decide: records the decision request and changes nothing."""

    verifiable = False  # nothing changed, so there is nothing to verify

    def run(self, context: ActionContext) -> Outcome:
        serving = store_models.serving_version(context.session, context.model.id)
        params = context.action.params or {}
        request = {"decision_requested": True, "rule": params.get("rule"), "severity": params.get("severity"),
                   "serving_version": serving.version if serving else None,
                   "options": ["rollback", "retrain", "recalibrate", "no action"]}
        return Outcome(True, f"a person decides about {params.get('rule')} on version "
                             f"{request['serving_version']}: no automatic change", request)
