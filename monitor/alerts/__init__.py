"""Alerts: a lifecycle keyed by (model, rule, segment), notifications on state changes only,
and delivery channels that share one small interface (``monitor.alerts.channels``)."""
