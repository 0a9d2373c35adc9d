"""Service monitoring: is the model's service fast, up and not starved, next to whether it is right.

Three sources, one module each: ``kpis`` (latency, throughput and errors from the prediction
logs), ``probes`` (availability from health probes of the serving endpoint) and ``host`` (CPU,
memory, disk and RSS samples from workers and ``modelwatch agent``). The check stage turns a
window of all three into service KPIs (``monitor/check/service.py``). This module only
re-exports their public names.
"""

from monitor import lazy

#: each public name and the module that defines it, imported on first use (PEP 562): ``modelwatch
#: agent`` needs only ``host``'s collector, not the log KPIs' pandas nor the probes' httpx
#: (tests/unit/test_import_cost.py)
_MODULES = {
    "host": ("HOST_KPIS", "Collector", "HostSample", "RejectedSample", "Sampler", "database_writer", "host_kpis",
             "parse_samples", "tree_rss"),
    "kpis": ("OK_STATUSES", "SERVICE_KPIS", "service_kpis"),
    "probes": ("PROBE_KPIS", "ProbeOutcome", "ProbeTarget", "availability_kpis", "due_targets", "probe", "slot_of"),
}
__all__ = sorted(name for names in _MODULES.values() for name in names)
__getattr__ = lazy.exports(__name__, _MODULES)
