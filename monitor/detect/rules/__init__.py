"""The rule families, one module each, registered with ``@rule("name")``
(:data:`monitor.plugins.RULES` imports every module here on first lookup)."""
