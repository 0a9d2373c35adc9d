"""Repository functions over SQLAlchemy sessions: the queries of the tables no one package owns.

Every function takes a :class:`~sqlalchemy.orm.Session` and leaves committing to the caller
(``monitor.db.engine.session_scope``), so a stage's writes land in one transaction. The modules:
``models`` (models, versions, reference profiles), ``logs`` (predictions, labels, quarantine,
window snapshots), ``interactions``, ``runs`` (check runs, KPIs, findings, reports), ``history``
(reads for the API and dashboard), ``operations`` (probes, host samples), ``decisions`` (audit
reads by subject), ``overview`` (fleet-wide counts for ``/metrics``), ``common`` (helpers).

The front doors (``frontdoors/``) read and write through these functions. What is *not* here,
on purpose: a package that owns a table's lifecycle keeps its state-transition queries beside
the rules of those transitions, where the conditional ``UPDATE ... WHERE state = ...`` that
makes a transition exactly-once can be read with them:

* ``monitor/alerts/`` (``lifecycle``, ``ack``, ``silences``, ``notify``, ``delivery``): alerts,
  notifications, delivery attempts, silences;
* ``monitor/recovery/`` (``schedule``, ``approval``, ``verification``): recovery actions;
* ``monitor/registry/hook.py``: registry deliveries;
* ``monitor/audit.py``: the audit trail (``record`` adds a row in the decision's transaction);
* ``monitor/check/`` (``runs``, ``stages``): two lookups of a run while opening and advancing it.

Known exceptions being moved by issue #10's other branches: ``tasks/recovery.py`` (the sweep's
``UPDATE`` of recovery actions) and ``frontdoors/api/routes/hooks.py`` (marks a registry
delivery enqueued). ``frontdoors/api/routes/core.py`` runs ``SELECT 1`` as a readiness probe of
the connection, not a query of data; ``session.get(Model, id)`` primary-key loads are used as is.
"""
