// CompletionQueue: futures in completion order through a pollable descriptor, the mechanism the
// CLI's loop, as_completed and wait all stand on. Also: what abandoned waits leave behind on
// futures (nothing), and timeouts too large to add to a clock.
#include <procpool/completion_queue.h>

#include <poll.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <chrono>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <procpool/as_completed.h>
#include <procpool/pool.h>
#include "common/fd.h"
#include "tests/support/e2e.h"
#include "tests/support/futures.h"

using namespace procpool;
using procpool::testing::finish;
using procpool::testing::make_future;

namespace {

// Whether `fd` is readable right now (poll with no wait).
bool readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

}  // namespace

TEST(CompletionQueue, DescriptorIsReadableExactlyWhileSomethingWaits) {
  CompletionQueue q;
  Future a = make_future("a"), b = make_future("b");
  q.add(a);
  q.add(b);
  EXPECT_FALSE(readable(q.fd()));
  EXPECT_EQ(q.pending(), 2u);
  finish(b);
  finish(a);
  // Level-triggered: still readable after one pop, until the queue is empty.
  EXPECT_TRUE(readable(q.fd()));
  EXPECT_EQ(q.size(), 2u);
  EXPECT_EQ(q.try_pop()->job().name, "b");
  EXPECT_TRUE(readable(q.fd()));
  EXPECT_EQ(q.try_pop()->job().name, "a");
  EXPECT_FALSE(readable(q.fd()));
  EXPECT_FALSE(q.try_pop().has_value());
  EXPECT_EQ(q.pending() + q.size(), 0u);
}

TEST(CompletionQueue, PollWakesWhenAnotherThreadCompletesAFuture) {
  CompletionQueue q;
  Future f = make_future("late");
  q.add(f);
  std::thread producer([f] {
    // Completed only once the main thread is (or is about to be) blocked in poll.
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    finish(f, Status::kFailed);
  });
  pollfd p{q.fd(), POLLIN, 0};
  int n = ::poll(&p, 1, 20'000);
  producer.join();
  ASSERT_EQ(n, 1) << "poll did not wake for a completed future";
  auto got = q.try_pop();
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->result().status, Status::kFailed);
}

TEST(CompletionQueue, WorksUnderEpollAsAnEventLoopWouldUseIt) {
  CompletionQueue q;
  Fd ep(::epoll_create1(EPOLL_CLOEXEC));
  ASSERT_TRUE(ep);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ASSERT_EQ(::epoll_ctl(ep.get(), EPOLL_CTL_ADD, q.fd(), &ev), 0);
  std::vector<Future> fs;
  for (int i = 0; i < 3; ++i) fs.push_back(make_future("f" + std::to_string(i)));
  for (auto& f : fs) q.add(f);
  std::thread producer([fs] {
    for (auto& f : fs) finish(f);
  });
  std::vector<std::string> seen;
  while (seen.size() < 3) {
    epoll_event out{};
    ASSERT_EQ(::epoll_wait(ep.get(), &out, 1, 20'000), 1);
    while (auto f = q.try_pop()) seen.push_back(f->job().name);
  }
  producer.join();
  EXPECT_EQ(seen, (std::vector<std::string>{"f0", "f1", "f2"}));
  epoll_event out{};
  EXPECT_EQ(::epoll_wait(ep.get(), &out, 1, 0), 0) << "still readable with the queue empty";
}

TEST(CompletionQueue, DoneAndCancelledFuturesAreQueuedAtAddAndTwiceWhenAddedTwice) {
  CompletionQueue q;
  Future done = make_future("done"), cancelled = make_future("cancelled");
  finish(done);
  cancelled.cancel();
  q.add(done);
  q.add(cancelled);
  q.add(done);
  EXPECT_TRUE(readable(q.fd()));
  EXPECT_EQ(q.try_pop()->job().name, "done");
  EXPECT_TRUE(q.try_pop()->cancelled());
  EXPECT_EQ(q.try_pop()->job().name, "done");
}

TEST(CompletionQueue, PopWaitsForAProducerAndTimesOutWithoutOne) {
  CompletionQueue q;
  Future f = make_future("f");
  q.add(f);
  EXPECT_FALSE(q.pop(Duration(0.01)).has_value());
  std::thread producer([f] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    finish(f);
  });
  // A timeout no clock can add (it saturates to "forever") must still wait, not throw.
  auto got = q.pop(Duration(std::numeric_limits<double>::infinity()));
  producer.join();
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->job().name, "f");
}

TEST(CompletionQueue, DestroyedQueueLeavesNoCallbackOnPendingFutures) {
  Future f = make_future("kept");
  {
    CompletionQueue q;
    q.add(f);
    q.add(f);
    EXPECT_EQ(f.callback_count(), 2u);
  }
  EXPECT_EQ(f.callback_count(), 0u);
  finish(f);  // completing it afterwards touches nothing that is gone (ASan would say)
}

TEST(CompletionQueue, ResultsOfARealPoolArriveThroughPoll) {
  PoolOptions options;
  options.workers = 2;
  options.worker_command = {PROCPOOL_BIN, "worker"};
  ProcessPool pool(options);
  CompletionQueue q;
  for (int i = 0; i < 6; ++i) {
    Job j;
    j.name = "j" + std::to_string(i);
    j.shell = i == 3 ? "exit 4" : "echo " + std::to_string(i);
    q.add(pool.submit(j));
  }
  int ok = 0, failed = 0;
  pollfd p{q.fd(), POLLIN, 0};
  while (q.pending() + q.size() > 0) {
    ASSERT_EQ(::poll(&p, 1, 20'000), 1) << "no result within 20 s";
    while (auto f = q.try_pop()) {
      (f->result().status == Status::kOk ? ok : failed)++;
    }
  }
  EXPECT_EQ(ok, 5);
  EXPECT_EQ(failed, 1);
}

// CPython removes its waiter in a `finally`; so must as_completed and wait, or a long-lived
// future collects one callback per abandoned wait.
TEST(AbandonedWaits, LeaveNoCallbacksBehindOverAHundredThousandWaits) {
  Future f = make_future("never finishes here");
  for (int i = 0; i < 100'000; ++i) {
    {
      AsCompleted it = as_completed({f}, Duration(0));
      EXPECT_THROW(it.next(), TimeoutError);
    }
    {
      AsCompleted dropped = as_completed({f, f});  // abandoned without a single next()
    }
    auto r = wait({f}, ReturnWhen::kFirstCompleted, Duration(0));
    ASSERT_EQ(r.not_done.size(), 1u);
    if (f.callback_count() != 0) FAIL() << "wait " << i << " left a callback behind";
  }
  EXPECT_EQ(f.callback_count(), 0u);
}

TEST(Deadlines, TimeoutsTooLargeForTheClockMeanForever) {
  auto now = Clock::now();
  EXPECT_FALSE(deadline_after(std::nullopt).has_value());
  EXPECT_FALSE(deadline_after(Duration(std::numeric_limits<double>::infinity())).has_value());
  EXPECT_FALSE(deadline_after(Duration(1e10 * 3.15e7)).has_value());  // 1e10 years
  EXPECT_FALSE(deadline_after(std::chrono::duration_cast<Duration>(std::chrono::seconds::max()))
                   .has_value());
  auto soon = deadline_after(Duration(1.5));
  ASSERT_TRUE(soon.has_value());
  EXPECT_GT(*soon, now);
  auto past = deadline_after(Duration(-1));
  ASSERT_TRUE(past.has_value());
  EXPECT_LE(*past, Clock::now());
}

TEST(Deadlines, ResultWithAHugeTimeoutWaitsInsteadOfThrowing) {
  for (Duration huge : {Duration(std::numeric_limits<double>::infinity()), Duration(1e10),
                        std::chrono::duration_cast<Duration>(std::chrono::seconds::max())}) {
    Future f = make_future("f");
    std::thread producer([f] {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      finish(f);
    });
    EXPECT_NO_THROW(f.result(huge));
    producer.join();
    Future g = make_future("g");
    std::thread producer2([g] {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      finish(g);
    });
    EXPECT_EQ(wait({g}, ReturnWhen::kAllCompleted, huge).done.size(), 1u);
    producer2.join();
  }
}
