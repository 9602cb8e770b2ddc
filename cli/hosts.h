// Where the workers run: this machine, other hosts through ssh, or a Slurm cluster through
// srun. A remote worker is the same `procpool worker`, started by an existing engine and
// spoken to over its stdin and stdout; nothing here is a cluster of our own.
#pragma once

#include <string>
#include <vector>

#include <procpool/pool.h>

namespace procpool {

struct HostOptions {
  std::vector<std::string> ssh;  // --ssh: HOST, N/HOST, ":" (this machine); repeatable
  std::string ssh_file;          // --ssh-file: one of those a line
  std::string ssh_cmd = "ssh";   // --ssh-cmd: the command used instead of plain ssh
  std::string remote_procpool;   // --remote-procpool: "" = this binary's own path
  bool slurm = false;            // --slurm: every slot through srun
  std::string srun_args;         // --slurm=ARGS: srun's own arguments
  bool remote() const { return !ssh.empty() || !ssh_file.empty() || slurm; }
};

// One slot per worker. `per_host` is the slot count of a host named without N/ (and of
// --slurm); `cwd` is where remote jobs without a cwd run. Throws UsageError on a bad host line.
std::vector<WorkerSlot> worker_slots(const HostOptions& hosts, int per_host,
                                     const std::string& cwd);

// Splits a command line the way a shell would split plain words and quotes ('...', "...",
// backslash), without expanding anything: for --ssh-cmd and --slurm's srun arguments.
std::vector<std::string> split_words(const std::string& flag, const std::string& text);

}  // namespace procpool
