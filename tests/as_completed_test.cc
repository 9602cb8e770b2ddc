// as_completed and wait: yield order, duplicates, timeouts, and every ReturnWhen.
#include <procpool/as_completed.h>

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/futures.h"

namespace procpool {
namespace {

using testing::finish;
using testing::make_future;

std::vector<std::string> names(const std::vector<Future>& fs) {
  std::vector<std::string> out;
  for (const auto& f : fs) out.push_back(f.job().name);
  return out;
}

// Completes futures[order[i]] only when the test releases step i, so the finishing order is
// fully under the test's control and next() really has to wait for each.
class SteppedProducer {
 public:
  SteppedProducer(std::vector<Future> futures, std::vector<size_t> order,
                  std::vector<Status> statuses = {})
      : gates_(order.size()) {
    std::vector<std::shared_future<void>> opened;
    for (auto& g : gates_) opened.push_back(g.get_future().share());
    thread_ = std::thread([futures = std::move(futures), order = std::move(order),
                           statuses = std::move(statuses), opened = std::move(opened)] {
      for (size_t i = 0; i < order.size(); ++i) {
        opened[i].wait();
        finish(futures[order[i]], i < statuses.size() ? statuses[i] : Status::kOk);
      }
    });
  }
  ~SteppedProducer() {
    for (; released_ < gates_.size(); ++released_) gates_[released_].set_value();
    thread_.join();
  }
  // Lets the producer complete the next future in its order.
  void release() { gates_.at(released_++).set_value(); }

 private:
  std::vector<std::promise<void>> gates_;  // one per completion, opened in order
  size_t released_ = 0;                    // how many gates are open
  std::thread thread_;                     // the producer
};

// Runs `fn` in a thread; fails (instead of hanging the suite) if it does not return in time.
// `unblock` is called on failure to let the stuck thread finish.
template <typename T>
T run_with_deadline(std::function<T()> fn, const std::function<void()>& unblock) {
  std::packaged_task<T()> task(std::move(fn));
  auto result = task.get_future();
  std::thread t(std::move(task));
  if (result.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
    unblock();
    t.join();
    ADD_FAILURE() << "call did not return while it should have";
    return result.get();
  }
  t.join();
  return result.get();
}

TEST(AsCompleted, EmptyInputYieldsNothing) {
  auto seq = as_completed({});
  EXPECT_EQ(seq.remaining(), 0u);
  EXPECT_FALSE(seq.next().has_value());
}

TEST(AsCompleted, AlreadyFinishedFirstInGivenOrderThenFinishingOrder) {
  Future a = make_future("a"), b = make_future("b"), c = make_future("c"), d = make_future("d"),
         e = make_future("e");
  // c finishes before a, but both were done before as_completed: given order wins.
  finish(c);
  finish(a);
  AsCompleted seq({a, b, c, d, e});
  EXPECT_EQ(seq.remaining(), 5u);
  // Then e, b, d finish in that order, each only after the previous one was yielded.
  SteppedProducer producer({b, d, e}, {2, 0, 1});

  std::vector<std::string> got;
  auto take = [&] {
    auto f = seq.next();
    ASSERT_TRUE(f.has_value());
    EXPECT_TRUE(f->done());
    got.push_back(f->job().name);
  };
  take();
  take();
  EXPECT_EQ(got, (std::vector<std::string>{"a", "c"}));
  EXPECT_EQ(seq.remaining(), 3u);
  for (int i = 0; i < 3; ++i) {
    producer.release();
    take();
  }
  EXPECT_EQ(got, (std::vector<std::string>{"a", "c", "e", "b", "d"}));
  EXPECT_EQ(seq.remaining(), 0u);
  EXPECT_FALSE(seq.next().has_value());
}

TEST(AsCompleted, FinishingOrderKeptWhenAllFinishBeforeReading) {
  std::vector<Future> fs = {make_future("a"), make_future("b"), make_future("c"), make_future("d")};
  AsCompleted seq(fs);
  // Completed from another thread, all before the first next(): the waiter keeps their order.
  std::thread producer([&] {
    finish(fs[3]);
    finish(fs[1]);
    finish(fs[0]);
    finish(fs[2]);
  });
  producer.join();
  std::vector<std::string> got;
  while (auto f = seq.next()) got.push_back(f->job().name);
  EXPECT_EQ(got, (std::vector<std::string>{"d", "b", "a", "c"}));
}

TEST(AsCompleted, CancelledFuturesAreYieldedToo) {
  Future a = make_future("a"), b = make_future("b");
  AsCompleted seq({a, b});
  ASSERT_TRUE(b.cancel());
  auto first = seq.next();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->job().name, "b");
  EXPECT_TRUE(first->cancelled());
  EXPECT_EQ(first->result().status, Status::kCancelled);
  finish(a);
  auto second = seq.next();
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->job().name, "a");
}

TEST(AsCompleted, DuplicatesOfDoneFutureYieldedOnce) {
  Future a = make_future("a"), b = make_future("b");
  finish(a);
  finish(b);
  AsCompleted seq({a, b, a, a, b});
  EXPECT_EQ(seq.remaining(), 2u);
  std::vector<std::string> got;
  while (auto f = seq.next()) got.push_back(f->job().name);
  EXPECT_EQ(got, (std::vector<std::string>{"a", "b"}));
}

TEST(AsCompleted, DuplicatesOfPendingFutureYieldedOnce) {
  Future a = make_future("a"), b = make_future("b");
  Future a_copy = a;  // a copy is the same future
  AsCompleted seq({a, a_copy, b, a});
  EXPECT_EQ(seq.remaining(), 2u);
  finish(a);
  finish(b);
  std::vector<std::string> got;
  while (auto f = seq.next()) got.push_back(f->job().name);
  EXPECT_EQ(got, (std::vector<std::string>{"a", "b"}));
}

TEST(AsCompleted, TimeoutNamesHowManyAreUnfinished) {
  Future a = make_future("a"), b = make_future("b"), c = make_future("c");
  finish(b);
  AsCompleted seq({a, b, c}, Duration(0.05));
  auto first = seq.next();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->job().name, "b");
  try {
    seq.next();
    FAIL() << "expected TimeoutError";
  } catch (const TimeoutError& e) {
    EXPECT_NE(std::string(e.what()).find("2 (of 3) futures unfinished"), std::string::npos)
        << e.what();
  }
  // A future that finishes after the timeout is still handed out by a later next().
  finish(c);
  auto late = seq.next();
  ASSERT_TRUE(late.has_value());
  EXPECT_EQ(late->job().name, "c");
  try {
    seq.next();
    FAIL() << "expected TimeoutError";
  } catch (const TimeoutError& e) {
    EXPECT_NE(std::string(e.what()).find("1 (of 3) futures unfinished"), std::string::npos)
        << e.what();
  }
}

TEST(AsCompleted, ZeroTimeoutStillYieldsDoneFutures) {
  Future a = make_future("a"), b = make_future("b");
  finish(a);
  AsCompleted seq({a, b}, Duration(0));
  auto f = seq.next();
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->job().name, "a");
  EXPECT_THROW(seq.next(), TimeoutError);
}

TEST(AsCompleted, GenerousTimeoutWaitsForALateProducer) {
  Future a = make_future("a");
  std::thread producer([a] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    finish(a);
  });
  AsCompleted seq({a}, Duration(30));
  auto f = seq.next();
  producer.join();
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->job().name, "a");
}

TEST(AsCompleted, RangeForOverATemporary) {
  // All three are done before as_completed is called, so they come in the order given even
  // though they finished as b, c, a.
  std::vector<Future> fs = {make_future("a"), make_future("b"), make_future("c")};
  finish(fs[1]);
  std::thread producer([&] {
    finish(fs[2]);
    finish(fs[0]);
  });
  producer.join();
  std::vector<std::string> got;
  for (const Future& f : as_completed(fs)) {
    EXPECT_TRUE(f.done());
    got.push_back(f.job().name);
  }
  EXPECT_EQ(got, (std::vector<std::string>{"a", "b", "c"}));
}

TEST(AsCompleted, RangeForWithBlockingProducer) {
  std::vector<Future> fs = {make_future("a"), make_future("b"), make_future("c")};
  AsCompleted seq(fs);
  SteppedProducer producer(fs, {1, 2, 0});
  producer.release();
  std::vector<std::string> got;
  for (const Future& f : seq) {
    got.push_back(f.job().name);
    if (got.size() < fs.size()) producer.release();
  }
  EXPECT_EQ(got, (std::vector<std::string>{"b", "c", "a"}));
}

TEST(Wait, AllCompletedReturnsEverythingInGivenOrder) {
  std::vector<Future> fs = {make_future("a"), make_future("b"), make_future("c")};
  finish(fs[1]);
  std::thread producer([&] {
    finish(fs[2], Status::kFailed);
    finish(fs[0]);
  });
  auto r = wait(fs, ReturnWhen::kAllCompleted);
  producer.join();
  EXPECT_EQ(names(r.done), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_TRUE(r.not_done.empty());
}

TEST(Wait, AllCompletedDoesNotStopAtAFailure) {
  std::vector<Future> fs = {make_future("a"), make_future("b")};
  finish(fs[0], Status::kFailed);
  // b finishes later; an early return at a's failure would leave it in not_done.
  std::thread producer([b = fs[1]] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    finish(b);
  });
  auto r = wait(fs, ReturnWhen::kAllCompleted);
  producer.join();
  EXPECT_EQ(names(r.done), (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(r.not_done.empty());
}

TEST(Wait, FirstCompletedReturnsAtTheFirstOne) {
  std::vector<Future> fs = {make_future("a"), make_future("b"), make_future("c")};
  // b finishes (before or during wait; either way it is the first and only one to finish).
  std::thread producer([b = fs[1]] { finish(b); });
  auto r = run_with_deadline<DoneAndNotDone>([&] { return wait(fs, ReturnWhen::kFirstCompleted); },
                                             [&] { finish(fs[0]); });
  producer.join();
  EXPECT_EQ(names(r.done), (std::vector<std::string>{"b"}));
  EXPECT_EQ(names(r.not_done), (std::vector<std::string>{"a", "c"}));
}

TEST(Wait, FirstCompletedWithAlreadyDoneReturnsAtOnce) {
  std::vector<Future> fs = {make_future("a"), make_future("b")};
  finish(fs[1], Status::kFailed);
  auto r = wait(fs, ReturnWhen::kFirstCompleted);
  EXPECT_EQ(names(r.done), (std::vector<std::string>{"b"}));
  EXPECT_EQ(names(r.not_done), (std::vector<std::string>{"a"}));
}

TEST(Wait, FirstFailureReturnsAtTheFirstNonOkResult) {
  std::vector<Future> fs = {make_future("ok1"), make_future("bad"), make_future("never")};
  // ok1 succeeds, then bad fails; "never" is never completed by the producer, so wait() can
  // only return because of the failure.
  std::thread producer([ok1 = fs[0], bad = fs[1]] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    finish(ok1, Status::kOk);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    finish(bad, Status::kTimeout);
  });
  auto r = run_with_deadline<DoneAndNotDone>([&] { return wait(fs, ReturnWhen::kFirstFailure); },
                                             [&] { finish(fs[2]); });
  producer.join();
  EXPECT_EQ(names(r.done), (std::vector<std::string>{"ok1", "bad"}));
  EXPECT_EQ(names(r.not_done), (std::vector<std::string>{"never"}));
  if (!fs[2].done()) finish(fs[2]);
}

TEST(Wait, FirstFailureCountsCancelledAsFailure) {
  std::vector<Future> fs = {make_future("a"), make_future("b")};
  ASSERT_TRUE(fs[1].cancel());
  auto r = run_with_deadline<DoneAndNotDone>([&] { return wait(fs, ReturnWhen::kFirstFailure); },
                                             [&] { finish(fs[0]); });
  EXPECT_EQ(names(r.done), (std::vector<std::string>{"b"}));
  EXPECT_EQ(names(r.not_done), (std::vector<std::string>{"a"}));
}

TEST(Wait, FirstFailureWaitsForAllWhenAllSucceed) {
  std::vector<Future> fs = {make_future("a"), make_future("b"), make_future("c")};
  finish(fs[0]);
  // b and c succeed later, one after the other: no success may end the wait early.
  std::thread producer([b = fs[1], c = fs[2]] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    finish(b);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    finish(c);
  });
  auto r = wait(fs, ReturnWhen::kFirstFailure);
  producer.join();
  EXPECT_EQ(names(r.done), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_TRUE(r.not_done.empty());
  for (const auto& f : r.done) EXPECT_TRUE(f.result().ok());
}

TEST(Wait, TimeoutReturnsWithoutExceptionListingTheUnfinished) {
  std::vector<Future> fs = {make_future("a"), make_future("b"), make_future("c")};
  finish(fs[1]);
  DoneAndNotDone r;
  ASSERT_NO_THROW(r = wait(fs, ReturnWhen::kAllCompleted, Duration(0.05)));
  EXPECT_EQ(names(r.done), (std::vector<std::string>{"b"}));
  EXPECT_EQ(names(r.not_done), (std::vector<std::string>{"a", "c"}));

  ASSERT_NO_THROW(r = wait(fs, ReturnWhen::kFirstFailure, Duration(0)));
  EXPECT_EQ(names(r.done), (std::vector<std::string>{"b"}));
  EXPECT_EQ(names(r.not_done), (std::vector<std::string>{"a", "c"}));

  Future lonely = make_future("lonely");
  ASSERT_NO_THROW(r = wait({lonely}, ReturnWhen::kFirstCompleted, Duration(0.01)));
  EXPECT_TRUE(r.done.empty());
  EXPECT_EQ(names(r.not_done), (std::vector<std::string>{"lonely"}));
}

TEST(Wait, EmptyInputReturnsAtOnce) {
  auto r = wait({}, ReturnWhen::kFirstCompleted);
  EXPECT_TRUE(r.done.empty());
  EXPECT_TRUE(r.not_done.empty());
}

}  // namespace
}  // namespace procpool
