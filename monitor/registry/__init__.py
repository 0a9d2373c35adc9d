"""Model registries and the registry hook.

``on_model_update(name, version, ...)`` records a new version (and its reference profile) and
returns; it publishes nothing, since the domain never touches the queue. What a registry calls
from Python to record a version *and* check it is ``tasks.publish.register_version``, which
calls this and then enqueues the check. The HTTP hook (``POST /v1/hooks/registry``,
``monitor.registry.hook``) does the same for signed MLflow webhooks and a plain JSON form.
``adapter_for(model, spec)`` is the registry that rollback and retrain act on (built-in or
MLflow, by ``spec.registry.kind``; ``monitor.registry.adapters``).
"""

from monitor.registry.adapters import Move, RegistryAdapter, RegistryError, RegistryVersion, adapter_for
from monitor.registry.versions import on_model_update

__all__ = ["Move", "RegistryAdapter", "RegistryError", "RegistryVersion", "adapter_for", "on_model_update"]
