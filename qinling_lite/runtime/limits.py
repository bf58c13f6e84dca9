"""The limits of one execution's process: rlimits, and first in line for the OOM killer."""

import contextlib
import math
import resource

MIB = 1024 * 1024


def limit_resources(timeout, memory_size):
    """Lower this process's rlimits for one execution (hard limits are never raised)."""
    limits = {
        resource.RLIMIT_AS: _vm_size() + memory_size,
        resource.RLIMIT_CPU: math.ceil(timeout) + 1,
        resource.RLIMIT_FSIZE: 64 * MIB,
        resource.RLIMIT_NOFILE: 1024,
        resource.RLIMIT_CORE: 0,
    }
    for which, wanted in limits.items():
        hard = resource.getrlimit(which)[1]
        value = wanted if hard == resource.RLIM_INFINITY else min(hard, wanted)
        resource.setrlimit(which, (value, value))


def oom_victim_first():
    """In a forked child: be the OOM killer's first choice in the sandbox's cgroup."""
    with contextlib.suppress(OSError), open("/proc/self/oom_score_adj", "w") as adj:
        adj.write("1000")


def _vm_size():
    """Return this process's virtual memory size in bytes."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("VmSize not found in /proc/self/status")
