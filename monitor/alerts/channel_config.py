"""Validated settings of the channels added after ``log`` and ``webhook``; they are part of the
model spec (:mod:`monitor.spec.channels`) and re-exported here for the channel family."""

from monitor.spec.channels import AlertmanagerConfig, EmailConfig, SlackConfig

__all__ = ["AlertmanagerConfig", "EmailConfig", "SlackConfig"]
