// Memory bounded overall, not per job: finished jobs that wait to be printed (a reader that has
// stopped, `procpool run big.json | less`; -k behind one slow job) hold at most the output
// budget in memory together, the rest in the one spill file, which costs no descriptor per job.
// Each case measures the coordinator's peak RSS (VmHWM, read while it runs) and checks that
// every byte still arrives.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/background.h"
#include "tests/support/e2e.h"
#include "tests/support/process_checks.h"

using json = nlohmann::json;
using namespace procpool::testing;
using namespace std::chrono_literals;

namespace {

// Peak resident memory of a running process, KiB (VmHWM counts from its exec, unlike wait4's
// ru_maxrss, which can start from the parent's size).
long peak_rss_kb(pid_t pid) {
  std::string status = slurp("/proc/" + std::to_string(pid) + "/status");
  auto at = status.find("VmHWM:");
  return at == std::string::npos ? -1 : std::stol(status.substr(at + 6));
}

size_t count_files(const std::string& dir) {
  std::error_code ec;
  size_t n = 0;
  for (auto it = std::filesystem::directory_iterator(dir, ec);
       !ec && it != std::filesystem::directory_iterator(); ++it) {
    ++n;
  }
  return n;
}

// A FIFO for procpool's stdout whose reader is there but reads nothing until told: the stopped
// reader of `procpool run big.json | less`.
// The coordinator's peak with the 16 MiB budget, the program itself and slack (150 MiB were
// held before). The sanitizer build's own memory (shadow, quarantine) is not procpool's: there
// only the bytes are checked.
#ifdef PROCPOOL_SANITIZED
constexpr long kPeakLimitKib = 1L << 40;
#else
constexpr long kPeakLimitKib = 48 * 1024;
#endif

class StoppedReader {
 public:
  explicit StoppedReader(const std::string& path) : path_(path) {
    if (::mkfifo(path.c_str(), 0600) == 0) {
      fd_ = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    }
  }
  ~StoppedReader() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool ok() const { return fd_ >= 0; }
  const std::string& path() const { return path_; }
  // Reads everything until the writer closes; how many 'x' bytes came.
  uint64_t read_all_xs() {
    ::fcntl(fd_, F_SETFL, 0);
    uint64_t xs = 0;
    char buf[1 << 16];
    for (ssize_t n; (n = ::read(fd_, buf, sizeof buf)) != 0;) {
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) break;
      xs += static_cast<uint64_t>(std::count(buf, buf + n, 'x'));
    }
    return xs;
  }

 private:
  std::string path_;
  int fd_ = -1;
};

class MemoryBudget : public ::testing::Test {
 protected:
  // `jobs` jobs each printing `bytes` (a flood of 'x', one line), then leaving a mark in done/
  // (procpool's own records wait behind its blocked stdout); job 1 first waits for the file
  // `gate` when one is given.
  std::string jobs_file(int jobs, size_t bytes, const std::string& gate = "") const {
    ::mkdir(path("done").c_str(), 0755);
    json list = json::array();
    for (int i = 1; i <= jobs; ++i) {
      std::string cmd = helper("flood") + " " + std::to_string(bytes) + " && : > " +
                        path("done/" + std::to_string(i));
      if (i == 1 && !gate.empty()) cmd = "while [ ! -e " + gate + " ]; do sleep 0.05; done; " + cmd;
      list.push_back({{"name", "j" + std::to_string(i)}, {"cmd", cmd}});
    }
    return dir_.write("jobs.json", list.dump());
  }
  std::string path(const std::string& name) const { return dir_.path() + "/" + name; }

  TempDir dir_;
};

// 300 jobs of 512 KiB each (150 MiB, every one below the 1 MiB a single job keeps in memory)
// finish while nobody reads procpool's stdout.
TEST_F(MemoryBudget, AStoppedReaderCostsDiskNotMemory) {
  constexpr int kJobs = 300;
  constexpr size_t kBytes = 512u << 10;
  StoppedReader reader(path("out.fifo"));  // reads nothing until every job has finished
  ASSERT_TRUE(reader.ok());
  std::string journal = path("journal");
  auto bg = Background::procpool({"run", "-j2", "--journal", journal, jobs_file(kJobs, kBytes)},
                                 {.stdout_path = reader.path()});
  ASSERT_TRUE(eventually([&] { return count_files(path("done")) == kJobs; }, 120s))
      << count_files(path("done")) << " of " << kJobs << " finished\n"
      << bg.stderr_so_far();
  long peak = peak_rss_kb(bg.pid());
  RecordProperty("peak_rss_kb", std::to_string(peak));
  EXPECT_LT(peak, kPeakLimitKib) << "coordinator peak RSS, KiB";

  // Now read: every job's output arrives whole.
  uint64_t xs = reader.read_all_xs();
  BackgroundResult r = bg.wait();
  EXPECT_EQ(r.exit_status, 0) << r.err;
  EXPECT_EQ(xs, uint64_t{kJobs} * kBytes);
}

// -k: job 1 is slow, and 199 jobs of 512 KiB finish behind it, waiting to be printed in order.
TEST_F(MemoryBudget, KeepOrderBehindASlowJobCostsDiskNotMemory) {
  constexpr int kJobs = 200;
  constexpr size_t kBytes = 512u << 10;
  std::string gate = path("gate"), journal = path("journal"), out = path("out");
  auto bg = Background::procpool(
      {"run", "-j2", "-k", "--journal", journal, jobs_file(kJobs, kBytes, gate)},
      {.stdout_path = out});
  ASSERT_TRUE(eventually([&] { return count_files(path("done")) == kJobs - 1; }, 120s))
      << bg.stderr_so_far();
  long peak = peak_rss_kb(bg.pid());
  RecordProperty("peak_rss_kb", std::to_string(peak));
  EXPECT_LT(peak, kPeakLimitKib) << "coordinator peak RSS, KiB";
  ::close(::open(gate.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
  BackgroundResult r = bg.wait();
  EXPECT_EQ(r.exit_status, 0) << r.err;
  // Every byte, and the headers (on stderr) in input order.
  std::string text = slurp(out);
  EXPECT_EQ(static_cast<uint64_t>(std::count(text.begin(), text.end(), 'x')),
            uint64_t{kJobs} * kBytes);
  size_t last = 0;
  for (int i = 1; i <= kJobs; ++i) {
    size_t at = r.err.find("] j" + std::to_string(i) + " (", last);
    ASSERT_NE(at, std::string::npos) << "header of j" << i << " missing or out of order";
    last = at;
  }
}

// Spilled outputs of finished jobs share one file: 200 jobs of 2 MiB each (every one past the
// 1 MiB a job keeps in memory) behind a stopped reader, under ulimit -n 64.
TEST_F(MemoryBudget, ManySpilledOutputsNeedNoDescriptorEach) {
  if (run_program({"sh", "-c", "command -v prlimit"}).exit_status != 0) GTEST_SKIP();
  constexpr int kJobs = 200;
  constexpr size_t kBytes = 2u << 20;
  StoppedReader reader(path("out.fifo"));
  ASSERT_TRUE(reader.ok());
  std::string journal = path("journal");
  Background bg({"prlimit", "--nofile=64", procpool_bin(), "run", "-j2", "--journal", journal,
                 jobs_file(kJobs, kBytes)},
                {.stdout_path = reader.path()});
  ASSERT_TRUE(eventually([&] { return count_files(path("done")) == kJobs; }, 180s))
      << count_files(path("done")) << " of " << kJobs << " finished\n"
      << bg.stderr_so_far();
  uint64_t xs = reader.read_all_xs();
  BackgroundResult r = bg.wait();
  EXPECT_EQ(r.exit_status, 0) << r.err;
  EXPECT_EQ(xs, uint64_t{kJobs} * kBytes);
  std::string records = slurp(journal);
  EXPECT_EQ(records.find("\"error\""), std::string::npos) << records.substr(0, 2000);
}

// --line-buffer --tag with a job printing 100 MiB and never a newline (a progress bar, minified
// JSON): printed in pieces as it comes, not held whole.
TEST_F(MemoryBudget, LineBufferPrintsAnEndlessLineInPieces) {
  constexpr size_t kBytes = 100u << 20;
  if (!std::filesystem::exists("/usr/bin/time")) GTEST_SKIP() << "/usr/bin/time is missing";
  std::string out = path("out"), rss = path("rss");
  // /usr/bin/time forks procpool: its peak is procpool's own, not inherited from this process.
  auto bg =
      Background({"/usr/bin/time", "-f", "%M", "-o", rss, procpool_bin(), "map", "--line-buffer",
                  "--tag", helper("flood") + " {}", ":::", std::to_string(kBytes)},
                 {.stdout_path = out});
  BackgroundResult r = bg.wait();
  EXPECT_EQ(r.exit_status, 0) << r.err;
  long peak = std::stol("0" + slurp(rss));
  RecordProperty("max_rss_kb", std::to_string(peak));
  EXPECT_LT(peak, kPeakLimitKib) << "peak RSS of procpool and its descendants, KiB";
  std::string text = slurp(out);
  EXPECT_EQ(static_cast<uint64_t>(std::count(text.begin(), text.end(), 'x')), kBytes);
  const std::string tag = std::to_string(kBytes) + "\t";
  size_t longest = 0, start = 0;
  for (size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1) {
    longest = std::max(longest, nl - start);
    EXPECT_EQ(text.compare(start, tag.size(), tag), 0) << "every piece is tagged";
  }
  EXPECT_LE(longest, (64u << 10) + 64) << "pieces of at most 64 KiB";
}

// A job file that parses to more than the address-space limit allows: a message and exit
// status 2, never an abort.
TEST_F(MemoryBudget, OutOfMemoryWhileReadingJobsIsAMessageNotAnAbort) {
#ifdef PROCPOOL_SANITIZED
  GTEST_SKIP() << "the sanitizers reserve more address space than the limit leaves";
#else
  if (run_program({"sh", "-c", "command -v prlimit"}).exit_status != 0) GTEST_SKIP();
  json list = json::array();
  for (int i = 0; i < 200000; ++i) {
    list.push_back({{"name", "job" + std::to_string(i)}, {"cmd", "echo " + std::to_string(i)}});
  }
  std::string file = dir_.write("big.json", list.dump());
  RunOutput r = run_program(
      {"prlimit", "--as=" + std::to_string(160u << 20), procpool_bin(), "run", "--dry-run", file});
  EXPECT_EQ(r.exit_status, 2) << r.err.substr(0, 2000);
  EXPECT_NE(r.err.find("not enough memory to read the jobs"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("ulimit -v is 160 MiB"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty());
#endif
}

}  // namespace
