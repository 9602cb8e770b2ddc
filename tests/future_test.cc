// Future: the state machine, the exactly-once rules, callbacks and waiting across threads.
#include <procpool/future.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace procpool {
namespace {

using State = Future::State;

Job named_job(const std::string& name) {
  Job job;
  job.id = 1;
  job.name = name;
  job.shell = "true";
  return job;
}

Result result_with(Status status, int exit_code = 0) {
  Result r;
  r.status = status;
  r.exit_code = exit_code;
  r.attempts = 1;
  return r;
}

TEST(Future, StartsPending) {
  Future f(named_job("a"));
  EXPECT_EQ(f.state(), State::kPending);
  EXPECT_FALSE(f.done());
  EXPECT_FALSE(f.running());
  EXPECT_FALSE(f.cancelled());
  EXPECT_EQ(f.job().name, "a");
}

TEST(Future, PendingToRunningToFinished) {
  Future f(named_job("a"));
  ASSERT_TRUE(f.set_running_or_notify_cancel());
  EXPECT_EQ(f.state(), State::kRunning);
  EXPECT_TRUE(f.running());
  EXPECT_FALSE(f.done());

  f.set_result(result_with(Status::kFailed, 3));
  EXPECT_EQ(f.state(), State::kFinished);
  EXPECT_TRUE(f.done());
  EXPECT_FALSE(f.running());
  EXPECT_FALSE(f.cancelled());
  EXPECT_EQ(f.result().status, Status::kFailed);
  ASSERT_TRUE(f.result().exit_code.has_value());
  EXPECT_EQ(*f.result().exit_code, 3);
}

TEST(Future, PendingToCancelled) {
  Future f(named_job("a"));
  EXPECT_TRUE(f.cancel());
  EXPECT_EQ(f.state(), State::kCancelled);
  EXPECT_TRUE(f.cancelled());
  EXPECT_TRUE(f.done());
}

TEST(Future, CancelOfRunningFutureFails) {
  Future f(named_job("a"));
  ASSERT_TRUE(f.set_running_or_notify_cancel());
  EXPECT_FALSE(f.cancel());
  EXPECT_EQ(f.state(), State::kRunning);
  EXPECT_FALSE(f.done());
}

TEST(Future, CancelOfFinishedFutureFails) {
  Future f(named_job("a"));
  ASSERT_TRUE(f.set_running_or_notify_cancel());
  f.set_result(result_with(Status::kOk));
  EXPECT_FALSE(f.cancel());
  EXPECT_EQ(f.state(), State::kFinished);
  EXPECT_EQ(f.result().status, Status::kOk);
}

TEST(Future, CancelTwiceReturnsTrueAndRunsCallbacksOnce) {
  Future f(named_job("a"));
  int calls = 0;
  f.add_done_callback([&](const Future&) { ++calls; });
  EXPECT_TRUE(f.cancel());
  EXPECT_TRUE(f.cancel());
  EXPECT_TRUE(f.cancelled());
  EXPECT_EQ(calls, 1);
}

TEST(Future, SetResultTwiceThrows) {
  Future f(named_job("a"));
  ASSERT_TRUE(f.set_running_or_notify_cancel());
  f.set_result(result_with(Status::kOk));
  EXPECT_THROW(f.set_result(result_with(Status::kFailed, 1)), std::logic_error);
  // The first result stands.
  EXPECT_EQ(f.result().status, Status::kOk);
}

TEST(Future, SetResultOnCancelledFutureThrows) {
  Future f(named_job("a"));
  ASSERT_TRUE(f.cancel());
  EXPECT_THROW(f.set_result(result_with(Status::kOk)), std::logic_error);
  EXPECT_TRUE(f.cancelled());
  EXPECT_EQ(f.result().status, Status::kCancelled);
}

TEST(Future, SetRunningOnCancelledFutureReturnsFalse) {
  Future f(named_job("a"));
  ASSERT_TRUE(f.cancel());
  EXPECT_FALSE(f.set_running_or_notify_cancel());
  EXPECT_EQ(f.state(), State::kCancelled);
}

TEST(Future, SetRunningTwiceIsABrokenInvariant) {
  Future f(named_job("a"));
  ASSERT_TRUE(f.set_running_or_notify_cancel());
  EXPECT_THROW(f.set_running_or_notify_cancel(), std::logic_error);
  EXPECT_EQ(f.state(), State::kRunning);
}

TEST(Future, ResultOfCancelledFutureIsDataNotException) {
  Future f(named_job("a"));
  ASSERT_TRUE(f.cancel());
  const Result* r = nullptr;
  ASSERT_NO_THROW(r = &f.result());
  EXPECT_EQ(r->status, Status::kCancelled);
  EXPECT_FALSE(r->ok());
  EXPECT_EQ(r->attempts, 0);
  // A timed wait on a done future returns at once too.
  EXPECT_EQ(f.result(Duration(0)).status, Status::kCancelled);
}

TEST(Future, CopiesShareOneState) {
  Future f(named_job("a"));
  Future copy = f;
  EXPECT_TRUE(copy == f);
  EXPECT_EQ(copy.key(), f.key());
  Future other(named_job("a"));
  EXPECT_FALSE(other == f);
  EXPECT_NE(other.key(), f.key());

  ASSERT_TRUE(copy.set_running_or_notify_cancel());
  EXPECT_TRUE(f.running());
  copy.set_result(result_with(Status::kOk));
  EXPECT_TRUE(f.done());
  EXPECT_EQ(f.result().status, Status::kOk);
}

TEST(Future, CallbackAddedAfterCompletionRunsAtOnceInCallingThread) {
  Future f(named_job("a"));
  f.set_result(result_with(Status::kOk));
  int calls = 0;
  std::thread::id ran_in;
  f.add_done_callback([&](const Future& done) {
    ++calls;
    ran_in = std::this_thread::get_id();
    EXPECT_TRUE(done == f);
  });
  EXPECT_EQ(calls, 1);  // before add_done_callback returned
  EXPECT_EQ(ran_in, std::this_thread::get_id());
}

TEST(Future, CallbackAddedAfterCancelRunsAtOnce) {
  Future f(named_job("a"));
  ASSERT_TRUE(f.cancel());
  int calls = 0;
  f.add_done_callback([&](const Future& done) {
    ++calls;
    EXPECT_TRUE(done.cancelled());
  });
  EXPECT_EQ(calls, 1);
}

TEST(Future, CallbacksRunExactlyOnceInOrderWhenCompleted) {
  Future f(named_job("a"));
  std::vector<int> order;
  for (int i = 0; i < 3; ++i) {
    f.add_done_callback([&order, i](const Future&) { order.push_back(i); });
  }
  EXPECT_TRUE(order.empty());
  ASSERT_TRUE(f.set_running_or_notify_cancel());
  EXPECT_TRUE(order.empty());  // running is not done
  f.set_result(result_with(Status::kOk));
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2}));
  // Nothing that happens later runs them again.
  EXPECT_THROW(f.set_result(result_with(Status::kOk)), std::logic_error);
  EXPECT_FALSE(f.cancel());
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2}));
}

TEST(Future, CallbackRunsInTheCompletingThread) {
  Future f(named_job("a"));
  std::promise<std::thread::id> ran_in;
  f.add_done_callback([&](const Future&) { ran_in.set_value(std::this_thread::get_id()); });
  std::thread::id producer_id;
  std::thread producer([&] {
    producer_id = std::this_thread::get_id();
    f.set_result(result_with(Status::kOk));
  });
  producer.join();
  auto got = ran_in.get_future();
  ASSERT_EQ(got.wait_for(std::chrono::seconds(0)), std::future_status::ready);
  EXPECT_EQ(got.get(), producer_id);
}

TEST(Future, CallbackMayQueryTheFutureWithoutDeadlock) {
  // Callbacks run outside the lock: calling back into the future must not self-deadlock.
  // The work runs in another thread so a deadlock fails the test instead of hanging it.
  Future f(named_job("a"));
  bool saw_done = false;
  Status seen = Status::kError;
  State seen_state = State::kPending;
  f.add_done_callback([&](const Future& done) {
    saw_done = done.done();
    seen = done.result().status;
    seen_state = done.state();
    done.add_done_callback([](const Future&) {});  // takes the lock too
  });
  std::packaged_task<void()> task([&] { f.set_result(result_with(Status::kOk)); });
  auto finished = task.get_future();
  std::thread t(std::move(task));
  if (finished.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
    t.detach();
    FAIL() << "set_result deadlocked while running a callback that queries the future";
  }
  t.join();
  EXPECT_TRUE(saw_done);
  EXPECT_EQ(seen, Status::kOk);
  EXPECT_EQ(seen_state, State::kFinished);
}

TEST(Future, CallbackOnCancelMayQueryTheFutureWithoutDeadlock) {
  Future f(named_job("a"));
  Status seen = Status::kOk;
  f.add_done_callback([&](const Future& done) { seen = done.result().status; });
  std::packaged_task<bool()> task([&] { return f.cancel(); });
  auto finished = task.get_future();
  std::thread t(std::move(task));
  if (finished.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
    t.detach();
    FAIL() << "cancel deadlocked while running a callback that queries the future";
  }
  t.join();
  EXPECT_TRUE(finished.get());
  EXPECT_EQ(seen, Status::kCancelled);
}

TEST(Future, ThrowingCallbackDoesNotPropagateAndLaterCallbacksRun) {
  Future f(named_job("a"));
  std::vector<std::string> ran;
  f.add_done_callback([&](const Future&) {
    ran.push_back("first");
    throw std::runtime_error("boom");
  });
  f.add_done_callback([&](const Future&) {
    ran.push_back("second");
    throw 42;  // not even a std::exception
  });
  f.add_done_callback([&](const Future&) { ran.push_back("third"); });
  EXPECT_NO_THROW(f.set_result(result_with(Status::kOk)));
  EXPECT_EQ(ran, (std::vector<std::string>{"first", "second", "third"}));
  EXPECT_EQ(f.state(), State::kFinished);
}

TEST(Future, ThrowingCallbackAddedWhenDoneDoesNotPropagate) {
  Future f(named_job("a"));
  f.set_result(result_with(Status::kOk));
  EXPECT_NO_THROW(f.add_done_callback([](const Future&) { throw std::runtime_error("boom"); }));
}

TEST(Future, ThrowingCallbackOnCancelDoesNotPropagate) {
  Future f(named_job("a"));
  bool later = false;
  f.add_done_callback([](const Future&) { throw std::runtime_error("boom"); });
  f.add_done_callback([&](const Future&) { later = true; });
  bool cancelled = false;
  EXPECT_NO_THROW(cancelled = f.cancel());
  EXPECT_TRUE(cancelled);
  EXPECT_TRUE(later);
}

TEST(Future, ResultWithTimeoutThrowsTimeoutErrorNamingTheJob) {
  Future f(named_job("compile-kernel"));
  try {
    f.result(Duration(0.05));
    FAIL() << "expected TimeoutError";
  } catch (const TimeoutError& e) {
    EXPECT_NE(std::string(e.what()).find("compile-kernel"), std::string::npos) << e.what();
  }
  // Still pending: the timeout changed nothing.
  EXPECT_EQ(f.state(), State::kPending);

  ASSERT_TRUE(f.set_running_or_notify_cancel());
  EXPECT_THROW(f.result(Duration(0)), TimeoutError);
}

TEST(Future, ResultWithTimeoutReturnsWhenAlreadyDone) {
  Future f(named_job("a"));
  f.set_result(result_with(Status::kTimeout));
  EXPECT_EQ(f.result(Duration(0)).status, Status::kTimeout);
}

TEST(Future, ResultFromAnotherThreadWakesOnSetResult) {
  Future f(named_job("a"));
  std::promise<void> waiting;
  std::promise<Status> got;
  std::thread consumer([&] {
    waiting.set_value();
    got.set_value(f.result().status);  // blocks until set_result
  });
  waiting.get_future().wait();
  auto status = got.get_future();
  f.set_result(result_with(Status::kCrashed));
  ASSERT_EQ(status.wait_for(std::chrono::seconds(10)), std::future_status::ready)
      << "result() did not wake up after set_result";
  EXPECT_EQ(status.get(), Status::kCrashed);
  consumer.join();
}

TEST(Future, TimedResultWaitsForALateProducer) {
  // The producer completes the future a little later; a generous timeout must see it.
  Future f(named_job("a"));
  std::thread producer([f]() mutable {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    f.set_result(result_with(Status::kOk));
  });
  EXPECT_EQ(f.result(Duration(30)).status, Status::kOk);
  producer.join();
}

TEST(Future, ManyWaitersAllWake) {
  Future f(named_job("a"));
  constexpr int kWaiters = 8;
  std::atomic<int> woke{0};
  std::vector<std::thread> waiters;
  for (int i = 0; i < kWaiters; ++i) {
    waiters.emplace_back([&] {
      if (f.result(Duration(30)).ok()) ++woke;
    });
  }
  f.set_result(result_with(Status::kOk));
  for (auto& t : waiters) t.join();
  EXPECT_EQ(woke.load(), kWaiters);
}

TEST(Future, CancelWakesWaiters) {
  Future f(named_job("a"));
  std::promise<Status> got;
  std::thread consumer([&] { got.set_value(f.result(Duration(30)).status); });
  ASSERT_TRUE(f.cancel());
  auto status = got.get_future();
  ASSERT_EQ(status.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(status.get(), Status::kCancelled);
  consumer.join();
}

TEST(Future, ConcurrentCancelAndStartHaveExactlyOneWinner) {
  for (int round = 0; round < 200; ++round) {
    Future f(named_job("a"));
    std::atomic<int> callbacks{0};
    f.add_done_callback([&](const Future&) { ++callbacks; });
    std::promise<void> go;
    std::shared_future<void> start = go.get_future().share();
    bool cancelled = false, started = false;
    std::thread a([&] {
      start.wait();
      cancelled = f.cancel();
    });
    std::thread b([&] {
      start.wait();
      started = f.set_running_or_notify_cancel();
    });
    go.set_value();
    a.join();
    b.join();
    ASSERT_NE(cancelled, started) << "round " << round;
    if (cancelled) {
      EXPECT_EQ(f.state(), State::kCancelled);
      EXPECT_EQ(callbacks.load(), 1);
    } else {
      EXPECT_EQ(f.state(), State::kRunning);
      EXPECT_EQ(callbacks.load(), 0);
    }
  }
}

// ---- a failure as a value or as an exception ----------------------------------------------------

// A finished future for `job` whose result is `r`.
Future finished(Job job, Result r) {
  Future f(std::move(job));
  f.set_running_or_notify_cancel();
  f.set_result(std::move(r));
  return f;
}

std::string what_of(const Future& f) {
  try {
    f.value_or_throw(Duration(0));
  } catch (const JobError& e) {
    return e.what();
  }
  return "(nothing thrown)";
}

TEST(FutureValueOrThrow, OkGivesTheResultItself) {
  Future f = finished(named_job("a"), result_with(Status::kOk));
  EXPECT_EQ(&f.value_or_throw(), &f.result());
  EXPECT_EQ(f.exception(), nullptr);
  // From a temporary: a value.
  Result r = finished(named_job("b"), result_with(Status::kOk)).value_or_throw();
  EXPECT_TRUE(r.ok());
}

TEST(FutureValueOrThrow, EachEndingIsThrownWithTheWordsReportsUse) {
  Job build = named_job("build");
  EXPECT_EQ(what_of(finished(build, result_with(Status::kFailed, 3))),
            "job \"build\" failed: exit 3");
  Result segv = result_with(Status::kCrashed);
  segv.exit_code.reset();
  segv.signal = 11;
  EXPECT_EQ(what_of(finished(build, segv)), "job \"build\" crashed: SIGSEGV");
  Job slow = named_job("slow");
  slow.timeout = Millis(1500);
  EXPECT_EQ(what_of(finished(slow, result_with(Status::kTimeout))),
            "job \"slow\" timeout: timed out after 1.5s");
  Result error = result_with(Status::kError);
  error.error = "cannot run: no such file";
  EXPECT_EQ(what_of(finished(build, error)), "job \"build\" error: cannot run: no such file");
  Future never(named_job("never"));
  never.cancel();
  EXPECT_EQ(what_of(never), "job \"never\" cancelled: not started");
  Result skipped = result_with(Status::kSkipped);
  skipped.error = "needs: a failed";
  EXPECT_EQ(what_of(finished(build, skipped)), "job \"build\" skipped: needs: a failed");
}

TEST(FutureValueOrThrow, TheErrorCarriesTheResultAndTheExactName) {
  std::optional<JobError> kept;
  {
    Result r = result_with(Status::kFailed, 4);
    r.output.append(Stream::kStderr, std::string(10000, 'e'));
    Future f = finished(named_job("two\nlines\x1b[31m"), std::move(r));
    try {
      f.value_or_throw();
    } catch (const JobError& e) {
      kept.emplace(e);  // a copy, kept after the future is gone
    }
  }
  ASSERT_TRUE(kept);
  EXPECT_EQ(kept->job_name(), "two\nlines\x1b[31m");
  // The name is shown, never obeyed: control characters escaped in what().
  EXPECT_STREQ(kept->what(), "job \"two\\nlines\\x1b[31m\" failed: exit 4");
  EXPECT_EQ(kept->result().exit_code, 4);
  EXPECT_EQ(kept->result().output.text(Stream::kStderr), std::string(10000, 'e'));
  const std::runtime_error& base = *kept;
  EXPECT_STREQ(base.what(), kept->what());
}

TEST(FutureValueOrThrow, ExceptionGivesTheJobErrorToRethrow) {
  Future f = finished(named_job("bad"), result_with(Status::kFailed, 5));
  std::exception_ptr e = f.exception();
  ASSERT_NE(e, nullptr);
  EXPECT_THROW(std::rethrow_exception(e), JobError);
  Future never(named_job("never"));
  never.cancel();
  EXPECT_NE(never.exception(), nullptr);
}

TEST(FutureValueOrThrow, WaitsLikeResult) {
  Future f(named_job("pending"));
  EXPECT_THROW(f.value_or_throw(Duration(0.01)), TimeoutError);
  EXPECT_THROW(f.exception(Duration(0)), TimeoutError);
  std::thread producer([&] {
    f.set_running_or_notify_cancel();
    f.set_result(result_with(Status::kFailed, 1));
  });
  EXPECT_THROW(f.value_or_throw(Duration(std::numeric_limits<double>::infinity())), JobError);
  producer.join();
}

}  // namespace
}  // namespace procpool
