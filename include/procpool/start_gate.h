// Conditions of the host a job runs on that must hold before it starts (GNU parallel's --load
// and --memfree): see PoolOptions::max_load and PoolOptions::min_memory_available. Each worker
// judges them on its own host, so they hold for remote workers (ssh, Slurm) as well.
#pragma once

namespace procpool {

// A limit on the host's 1-minute load average, as `per_cpu` times the host's CPU count (all of
// its online CPUs, since the load average is the whole host's) plus `plus`: {0, 4} is 4 (--load 4),
// {1, 0} one per CPU (--load 100%), {1, 2} two more than the CPUs (--load +2), {0.5, 0} half of
// them (--load 50%).
struct LoadLimit {
  double per_cpu = 0;
  double plus = 0;

  // The limit on a host with `cpus` CPUs; at least 0.01, as GNU parallel's (--load 0 starts
  // jobs only on a host whose load average reads 0.00).
  double on(int cpus) const {
    double limit = per_cpu * cpus + plus;
    return limit < 0.01 ? 0.01 : limit;
  }
};

}  // namespace procpool
