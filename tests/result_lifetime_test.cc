// The library's results on real worker processes: a Result stays valid as long as the caller
// holds it (the natural lines, copies outliving the pool, a copy read from another thread), and
// timeouts of any size wait. Meant for the ASan build too: there a dangling read is a failure.
#include <sys/resource.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include <gtest/gtest.h>

#include <procpool/as_completed.h>
#include <procpool/pool.h>
#include "tests/support/e2e.h"
#include "tests/support/pools.h"

using namespace procpool;
using procpool::testing::kPatience;
using procpool::testing::pool_options;
using procpool::testing::shell_job;
using procpool::testing::TempDir;

namespace {

// Prints enough that the capture holds heap memory (a short string would sit inline, where a
// dangling read may go unnoticed), then a marker.
Job printing_job(const std::string& name) {
  return shell_job(name, "i=0; while [ $i -lt 200 ]; do echo line-$i-of-" + name +
                             "; i=$((i+1)); done; echo err-" + name + " >&2");
}

std::string expected_stdout(const std::string& name) {
  std::string s;
  for (int i = 0; i < 200; ++i) s += "line-" + std::to_string(i) + "-of-" + name + "\n";
  return s;
}

// ---- the natural lines --------------------------------------------------------------------------

TEST(ResultLifetime, ResultOfATemporaryFutureStaysValid) {
  ProcessPool pool(pool_options(1));
  const Result& r = pool.submit(printing_job("a")).result(kPatience);
  // The temporary Future is gone: `r` must not be a reference into its state.
  EXPECT_EQ(r.status, Status::kOk);
  EXPECT_EQ(r.output.text(Stream::kStdout), expected_stdout("a"));
  EXPECT_EQ(r.output.text(Stream::kStderr), "err-a\n");
}

TEST(ResultLifetime, ResultOfATemporaryFutureOutlivesThePool) {
  std::optional<std::string> out;
  {
    std::unique_ptr<ProcessPool> pool = std::make_unique<ProcessPool>(pool_options(1));
    const Result& r = pool->submit(printing_job("b")).result(kPatience);
    pool.reset();
    out = r.output.text(Stream::kStdout);
  }
  EXPECT_EQ(*out, expected_stdout("b"));
}

TEST(ResultLifetime, NextOfATemporaryMapStaysValid) {
  ProcessPool pool(pool_options(2));
  auto r = pool.map({printing_job("m1"), printing_job("m2")}, kPatience).next();
  // The MapResults (and with it the futures) is gone.
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, Status::kOk);
  EXPECT_EQ(r->output.text(Stream::kStdout), expected_stdout("m1"));
}

TEST(ResultLifetime, ResultOfTheLastCopyOfAFutureStaysValid) {
  // No pool: the future given back by the function is the only owner of its state.
  auto finished = [] {
    Job job;
    job.name = "alone";
    job.shell = "true";
    Future f(job);
    Result r;
    r.status = Status::kOk;
    r.output.append(Stream::kStdout, expected_stdout("alone"));
    f.set_running_or_notify_cancel();
    f.set_result(std::move(r));
    return f;
  };
  const Result& r = finished().result();
  EXPECT_EQ(r.output.text(Stream::kStdout), expected_stdout("alone"));
  const Result& ok = finished().value_or_throw();
  EXPECT_EQ(ok.output.size(Stream::kStdout), expected_stdout("alone").size());
}

TEST(ResultLifetime, ByReferenceFromAKeptFutureByValueFromATemporary) {
  static_assert(std::is_same_v<decltype(std::declval<Future&>().result()), const Result&>);
  static_assert(std::is_same_v<decltype(std::declval<const Future&>().result()), const Result&>);
  static_assert(std::is_same_v<decltype(std::declval<Future>().result()), Result>);
  static_assert(std::is_same_v<decltype(std::declval<const Future>().result()), Result>);
  static_assert(std::is_same_v<decltype(std::declval<Future&>().value_or_throw()), const Result&>);
  static_assert(std::is_same_v<decltype(std::declval<Future>().value_or_throw()), Result>);
  static_assert(std::is_same_v<decltype(std::declval<ProcessPool::MapResults&>().next()),
                               std::optional<Result>>);
  static_assert(std::is_copy_constructible_v<Result> && std::is_copy_assignable_v<Result>);
  ProcessPool pool(pool_options(1));
  Future f = pool.submit(printing_job("kept"));
  EXPECT_EQ(&f.result(kPatience), &f.result()) << "a kept future's result is not copied";
  EXPECT_EQ(&f.value_or_throw(), &f.result());
}

TEST(ResultLifetime, CopiesOutliveThePoolAndTheirFutures) {
  std::vector<Result> kept;
  {
    PoolOptions options = pool_options(2);
    options.spill_bytes = 64;  // every capture spills: the bytes are in the shared file
    ProcessPool pool(options);
    std::vector<Future> futures;
    for (int i = 0; i < 4; ++i) futures.push_back(pool.submit(printing_job(std::to_string(i))));
    for (const Future& f : futures) kept.push_back(f.result(kPatience));
    auto results = pool.map({printing_job("m")}, kPatience);
    kept.push_back(*results.next());
  }
  ASSERT_EQ(kept.size(), 5u);
  for (int i = 0; i < 4; ++i) {
    EXPECT_TRUE(kept[i].output.spilled());
    EXPECT_EQ(kept[i].output.text(Stream::kStdout), expected_stdout(std::to_string(i)));
    EXPECT_EQ(kept[i].output.text(Stream::kStderr), "err-" + std::to_string(i) + "\n");
  }
  EXPECT_EQ(kept[4].output.text(Stream::kStdout), expected_stdout("m"));
  // Copies of copies, the originals dropped first.
  std::vector<Result> again = kept;
  kept.clear();
  EXPECT_EQ(again[2].output.text(Stream::kStdout), expected_stdout("2"));
}

TEST(ResultLifetime, ACopyIsReadFromAnotherThread) {
  for (size_t spill : {size_t{64}, Output::kDefaultSpillBytes}) {
    std::vector<std::thread> readers;
    std::vector<std::string> got(4);
    {
      PoolOptions options = pool_options(1);
      options.spill_bytes = spill;
      ProcessPool pool(options);
      Future f = pool.submit(printing_job("t"));
      const Result& r = f.result(kPatience);
      // Each reader gets its own copy; all share one capture, read at once.
      for (size_t i = 0; i < got.size(); ++i) {
        readers.emplace_back([copy = r, &out = got[i]] {
          for (int n = 0; n < 20; ++n) out = copy.output.text(Stream::kStdout);
        });
      }
      // The future and the pool go while the readers read.
    }
    for (auto& t : readers) t.join();
    for (const auto& out : got) EXPECT_EQ(out, expected_stdout("t")) << "spill " << spill;
  }
}

// ---- a failure as a value or as an exception ----------------------------------------------------

TEST(JobFailures, ValueOrThrowThrowsAJobErrorCarryingTheResult) {
  ProcessPool pool(pool_options(2));
  Future ok = pool.submit(shell_job("fine", "echo fine"));
  EXPECT_EQ(ok.value_or_throw(kPatience).output.text(Stream::kStdout), "fine\n");
  try {
    pool.submit(shell_job("build", "echo half-built; exit 3")).value_or_throw(kPatience);
    ADD_FAILURE() << "no JobError";
  } catch (const JobError& e) {
    EXPECT_STREQ(e.what(), "job \"build\" failed: exit 3");
    EXPECT_EQ(e.job_name(), "build");
    EXPECT_EQ(e.result().status, Status::kFailed);
    EXPECT_EQ(e.result().exit_code, 3);
    EXPECT_EQ(e.result().output.text(Stream::kStdout), "half-built\n");
  }
  // A JobError is a std::runtime_error: code that catches those catches it.
  EXPECT_THROW(pool.submit(shell_job("crash", "kill -SEGV $$")).value_or_throw(kPatience),
               std::runtime_error);
}

TEST(JobFailures, MapAndWaitWithoutCheckingEachStatus) {
  ProcessPool pool(pool_options(2));
  auto results = pool.map(
      {shell_job("a", "echo a"), shell_job("b", "exit 2"), shell_job("c", "echo c")}, kPatience);
  std::vector<std::string> printed;
  try {
    for (const Future& f : results.futures()) {
      printed.push_back(f.value_or_throw(kPatience).output.text(Stream::kStdout));
    }
    ADD_FAILURE() << "no JobError";
  } catch (const JobError& e) {
    EXPECT_STREQ(e.what(), "job \"b\" failed: exit 2");
  }
  EXPECT_EQ(printed, (std::vector<std::string>{"a\n"}));
  // As data, the same results need no try.
  std::vector<Status> statuses;
  while (auto r = results.next()) statuses.push_back(r->status);
  EXPECT_EQ(statuses, (std::vector<Status>{Status::kOk, Status::kFailed, Status::kOk}));
}

TEST(JobFailures, ExceptionIsNullForOkAndAJobErrorOtherwise) {
  ProcessPool pool(pool_options(2));
  Future ok = pool.submit(shell_job("fine", "true"));
  Future bad = pool.submit(shell_job("bad", "exit 9"));
  EXPECT_EQ(ok.exception(kPatience), nullptr);
  std::exception_ptr e = bad.exception(kPatience);
  ASSERT_NE(e, nullptr);
  try {
    std::rethrow_exception(e);
  } catch (const JobError& err) {
    EXPECT_STREQ(err.what(), "job \"bad\" failed: exit 9");
    EXPECT_EQ(err.result().exit_code, 9);
  }
}

// ---- timeouts of any size -----------------------------------------------------------------------

// Each timeout that no clock can count, on a job that finishes after about 200 ms.
std::vector<std::pair<std::string, Duration>> huge_timeouts() {
  return {{"infinity", Duration(std::numeric_limits<double>::infinity())},
          {"seconds::max()", std::chrono::seconds::max()},
          {"1e10 s", Duration(1e10)},
          {"hours::max()", std::chrono::hours::max()},
          {"double max", Duration(std::numeric_limits<double>::max())}};
}

Job late_job(const std::string& name) {
  return shell_job(name, "sleep 0.2; echo " + name);
}

TEST(TimeoutsOfAnySize, ResultWaits) {
  ProcessPool pool(pool_options(2));
  for (const auto& [what, timeout] : huge_timeouts()) {
    Future f = pool.submit(late_job("late"));
    const Result* r = nullptr;
    EXPECT_NO_THROW(r = &f.result(timeout)) << what;
    if (r) {
      EXPECT_EQ(r->output.text(Stream::kStdout), "late\n") << what;
    }
  }
}

TEST(TimeoutsOfAnySize, MapWaits) {
  ProcessPool pool(pool_options(2));
  for (const auto& [what, timeout] : huge_timeouts()) {
    auto results = pool.map({late_job("m1"), late_job("m2")}, timeout);
    std::vector<std::string> got;
    try {
      while (auto r = results.next()) got.push_back(r->output.text(Stream::kStdout));
    } catch (const TimeoutError& e) {
      ADD_FAILURE() << what << ": " << e.what();
    }
    EXPECT_EQ(got, (std::vector<std::string>{"m1\n", "m2\n"})) << what;
    for (const Future& f : results.futures()) f.result(kPatience);  // all done before the next
  }
}

TEST(TimeoutsOfAnySize, AsCompletedWaits) {
  ProcessPool pool(pool_options(2));
  for (const auto& [what, timeout] : huge_timeouts()) {
    std::vector<Future> futures = {pool.submit(late_job("a")), pool.submit(late_job("b"))};
    size_t yielded = 0;
    try {
      for (const Future& f : as_completed(futures, timeout)) {
        EXPECT_EQ(f.result(Duration(0)).status, Status::kOk) << what;
        ++yielded;
      }
    } catch (const TimeoutError& e) {
      ADD_FAILURE() << what << ": " << e.what();
    }
    EXPECT_EQ(yielded, 2u) << what;
    for (const Future& f : futures) f.result(kPatience);
  }
}

TEST(TimeoutsOfAnySize, WaitWaits) {
  ProcessPool pool(pool_options(2));
  for (const auto& [what, timeout] : huge_timeouts()) {
    std::vector<Future> futures = {pool.submit(late_job("a")), pool.submit(late_job("b"))};
    auto [done, not_done] = wait(futures, ReturnWhen::kAllCompleted, timeout);
    EXPECT_EQ(done.size(), 2u) << what;
    EXPECT_TRUE(not_done.empty()) << what;
    for (const Future& f : futures) f.result(kPatience);
  }
}

TEST(TimeoutsOfAnySize, ASmallTimeoutStillRunsOut) {
  TempDir dir;
  ProcessPool pool(pool_options(1));
  std::string go = dir.path() + "/go";
  // Cannot finish before `go` exists (it gives up after about 20 s).
  Job blocked =
      shell_job("blocked", "i=0; while [ ! -e " + go +
                               " ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done; echo ok");
  Future f = pool.submit(blocked);
  EXPECT_THROW(f.result(Duration(0.05)), TimeoutError);
  EXPECT_THROW(as_completed({f}, Duration(0.05)).next(), TimeoutError);
  EXPECT_EQ(wait({f}, ReturnWhen::kAllCompleted, Duration(0.05)).not_done.size(), 1u);
  auto results = pool.map({blocked}, Duration(0.05));
  EXPECT_THROW(results.next(), TimeoutError);
  dir.write("go", "");
  EXPECT_EQ(f.result(std::chrono::seconds::max()).status, Status::kOk);
  results.futures()[0].result(kPatience);  // done (or cancelled by the map's timeout)
}

// A program that keeps its results keeps no descriptor per spilled output: 1,000 results whose
// output spilled, all kept, under a soft limit of 64 descriptors (ulimit -n 64), all readable.
TEST(ResultLifetime, AThousandKeptSpilledResultsUnderUlimitN64) {
  rlimit saved{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved), 0);
  rlimit low = saved;
  low.rlim_cur = 64;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
  std::vector<Result> kept;
  {
    PoolOptions options = pool_options(2);
    options.spill_bytes = 8;  // every output spills
    ProcessPool pool(std::move(options));
    std::vector<Future> futures;
    for (int i = 0; i < 1000; ++i) {
      Job job;
      job.argv = {"/bin/echo", "result number " + std::to_string(i)};
      futures.push_back(pool.submit(std::move(job)));
    }
    for (Future& f : futures) kept.push_back(f.result());
  }
  ::setrlimit(RLIMIT_NOFILE, &saved);
  ASSERT_EQ(kept.size(), 1000u);
  for (size_t i = 0; i < kept.size(); ++i) {
    ASSERT_EQ(kept[i].status, Status::kOk) << i << ": " << kept[i].error;
    ASSERT_TRUE(kept[i].output.spilled()) << i;
    ASSERT_EQ(kept[i].output.text(Stream::kStdout), "result number " + std::to_string(i) + "\n");
  }
}

}  // namespace
