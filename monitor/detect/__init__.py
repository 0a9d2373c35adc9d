"""The detect stage's domain: rules that turn one window's context into findings.

``rule.py`` is the interface (:class:`Rule`, :class:`WindowContext`), ``rules/`` holds one module
per rule family, ``findings.py`` the value every rule returns.

:class:`Rule` and :class:`WindowContext` are imported on first use (PEP 562): importing
``monitor.detect.findings``, as the store and every command that reads runs do, imports this
package first, and ``rule.py`` imports pandas.
"""

from monitor import lazy
from monitor.detect.findings import Finding, RuleEvaluation

__all__ = ["Finding", "Rule", "RuleEvaluation", "WindowContext"]

__getattr__ = lazy.exports(__name__, {"rule": ("Rule", "WindowContext")})
