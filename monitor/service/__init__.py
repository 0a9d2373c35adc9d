"""Service monitoring: is the model's service fast, up and not starved, next to whether it is right.

Three sources, one module each: ``kpis`` (latency, throughput and errors from the prediction
logs), ``probes`` (availability from health probes of the serving endpoint) and ``host`` (CPU,
memory, disk and RSS samples from workers and ``modelwatch agent``). The check stage turns a
window of all three into service KPIs (``monitor/check/service.py``). This module only
re-exports their public names.
"""

from monitor.service.host import (
    HOST_KPIS, Collector, HostSample, RejectedSample, Sampler, database_writer, host_kpis, parse_samples, tree_rss,
)
from monitor.service.kpis import OK_STATUSES, SERVICE_KPIS, service_kpis
from monitor.service.probes import (
    PROBE_KPIS, ProbeOutcome, ProbeTarget, availability_kpis, due_targets, probe, slot_of,
)

__all__ = [
    "HOST_KPIS", "OK_STATUSES", "PROBE_KPIS", "SERVICE_KPIS", "Collector", "HostSample", "ProbeOutcome",
    "ProbeTarget", "RejectedSample", "Sampler", "availability_kpis", "database_writer", "due_targets",
    "host_kpis", "parse_samples", "probe", "service_kpis", "slot_of", "tree_rss",
]
