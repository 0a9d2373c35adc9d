"""The detect stage's domain: rules that turn one window's context into findings.

``rule.py`` is the interface (:class:`Rule`, :class:`WindowContext`), ``rules/`` holds one module
per rule family, ``findings.py`` the value every rule returns.
"""

from monitor.detect.findings import Finding, RuleEvaluation
from monitor.detect.rule import Rule, WindowContext

__all__ = ["Finding", "Rule", "RuleEvaluation", "WindowContext"]
