#include "worker/start_gate.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "common/fd.h"

namespace procpool {

namespace {

// The whole of a small file, or nullopt (with errno's text in `error`) when it cannot be read.
std::optional<std::string> read_small_file(const std::string& path, std::string& error) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    error = std::strerror(errno);
    return std::nullopt;
  }
  try {
    return read_all(fd.get());
  } catch (const std::exception& e) {
    error = e.what();
    return std::nullopt;
  }
}

// The number after `key` at the start of a line of `text` ("MemAvailable:  123 kB"), in KiB.
std::optional<uint64_t> meminfo_kib(std::string_view text, std::string_view key) {
  for (size_t at = 0; at < text.size();) {
    size_t end = text.find('\n', at);
    std::string_view line = text.substr(at, end == std::string_view::npos ? end : end - at);
    at = end == std::string_view::npos ? text.size() : end + 1;
    if (line.size() <= key.size() || line.substr(0, key.size()) != key || line[key.size()] != ':') {
      continue;
    }
    std::string rest(line.substr(key.size() + 1));
    char* stop = nullptr;
    errno = 0;
    unsigned long long kib = std::strtoull(rest.c_str(), &stop, 10);
    if (stop == rest.c_str() || errno != 0) return std::nullopt;
    return kib;
  }
  return std::nullopt;
}

// "512 KiB", "300 MiB", "1.5 GiB", "2 TiB": to a tenth, for messages.
std::string size_text(uint64_t bytes) {
  double v = static_cast<double>(bytes) / 1024;
  const char* unit = "KiB";
  for (const char* next : {"MiB", "GiB", "TiB", "PiB"}) {
    if (v < 1024) break;
    v /= 1024;
    unit = next;
  }
  return fmt::format("{:g} {}", std::round(v * 10) / 10, unit);
}

// "4", "4 (100% of its 4 CPUs)", "6 (its 4 CPUs +2)".
std::string describe_limit(const LoadLimit& l, int cpus) {
  std::string limit = fmt::format("{:g}", l.on(cpus));
  if (l.per_cpu == 0) return limit;
  std::string plus = l.plus ? fmt::format(" {:+g}", l.plus) : "";
  if (l.per_cpu == 1 && l.plus) return fmt::format("{} (its {} CPUs{})", limit, cpus, plus);
  return fmt::format("{} ({:g}% of its {} CPUs{})", limit, l.per_cpu * 100, cpus, plus);
}

int online_cpus() {
  return static_cast<int>(std::max(1L, ::sysconf(_SC_NPROCESSORS_ONLN)));
}

}  // namespace

std::optional<double> parse_loadavg(std::string_view text) {
  std::string first(text.substr(0, text.find_first_of(" \t\n")));
  if (first.empty()) return std::nullopt;
  char* stop = nullptr;
  double v = std::strtod(first.c_str(), &stop);
  if (*stop != '\0' || !std::isfinite(v) || v < 0) return std::nullopt;
  return v;
}

std::optional<uint64_t> parse_mem_available(std::string_view text) {
  if (auto available = meminfo_kib(text, "MemAvailable")) return *available * 1024;
  auto free = meminfo_kib(text, "MemFree");
  if (!free) return std::nullopt;
  uint64_t kib = *free;
  for (const char* key : {"Buffers", "Cached"}) kib += meminfo_kib(text, key).value_or(0);
  return kib * 1024;
}

std::string StartGate::proc_root() {
  const char* root = std::getenv("PROCPOOL_PROC_ROOT");
  return root && *root ? std::string(root) : std::string("/proc");
}

GateVerdict StartGate::check(const Task& task) {
  GateVerdict v;
  if (task.max_load) {
    std::string path = root_ + "/loadavg", error;
    auto text = read_small_file(path, error);
    std::optional<double> load = text ? parse_loadavg(*text) : std::nullopt;
    if (!load && !told_load_) {
      told_load_ = true;
      v.unknown = fmt::format(
          "cannot read the load average from {} ({}): --load does not hold "
          "jobs back there",
          path, text ? "not in the form of /proc/loadavg" : error);
    }
    int cpus = online_cpus();
    double limit = task.max_load->on(cpus);
    if (load && *load >= limit) {
      v.held = fmt::format("its 1-minute load average is {:.2f}, not below the {} of --load", *load,
                           describe_limit(*task.max_load, cpus));
      return v;
    }
  }
  if (task.min_memory_available) {
    std::string path = root_ + "/meminfo", error;
    auto text = read_small_file(path, error);
    std::optional<uint64_t> available = text ? parse_mem_available(*text) : std::nullopt;
    if (!available && !told_mem_) {
      told_mem_ = true;
      std::string said = fmt::format(
          "cannot read the available memory from {} ({}): --memfree "
          "does not hold jobs back there",
          path, text ? "it has no MemAvailable line" : error);
      v.unknown = v.unknown.empty() ? said : v.unknown + "; " + said;
    }
    if (available && *available < *task.min_memory_available) {
      v.held = fmt::format("it has {} of memory available, less than the {} of --memfree",
                           size_text(*available), size_text(*task.min_memory_available));
    }
  }
  return v;
}

}  // namespace procpool
