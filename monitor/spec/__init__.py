"""The model spec: what to watch, how often, against what, and what to do about it.

A spec file holds ``models: [...]``; each entry is validated into a :class:`ModelSpec`. Errors
name the model, the field and what was expected (:class:`monitor.errors.SpecError`). The format
is documented in ``docs/model-spec.md``. One module per block of the spec; this package imports
nothing from ``monitor.detect`` or ``monitor.alerts`` (rule names come from the rule plugins,
loaded by name through :mod:`monitor.plugins`).
"""

from monitor.spec.alerting import SEVERITIES, AlertingPolicy, RuleAlerting, Severity
from monitor.spec.channels import (
    CHANNEL_TYPES,
    AlertmanagerConfig,
    ChannelSpec,
    EmailConfig,
    LogChannel,
    SlackConfig,
    WebhookChannel,
)
from monitor.spec.columns import Columns
from monitor.spec.interactions import InteractionEvents, InteractionSpec, ReferenceRates
from monitor.spec.loading import load_spec_file, parse_spec
from monitor.spec.model import NAME_PATTERN, ModelSpec, SpecFile, Task
from monitor.spec.recovery import RecoveryPolicy
from monitor.spec.registry import RegistrySpec
from monitor.spec.rules import AnomalyRules, DriftRules, Rules, finding_kinds, rule_names
from monitor.spec.service import ServiceSpec

__all__ = [
    "CHANNEL_TYPES", "NAME_PATTERN", "SEVERITIES", "AlertingPolicy", "AlertmanagerConfig", "AnomalyRules",
    "ChannelSpec", "Columns", "DriftRules", "EmailConfig", "InteractionEvents", "InteractionSpec", "LogChannel",
    "ModelSpec", "RecoveryPolicy", "ReferenceRates", "RegistrySpec", "RuleAlerting", "Rules", "ServiceSpec",
    "Severity", "SlackConfig", "SpecFile", "Task", "WebhookChannel", "finding_kinds", "load_spec_file",
    "parse_spec", "rule_names",
]
