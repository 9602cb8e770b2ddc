// The messages of jobs sent ahead (messages.h): Task::ahead, Withdraw (`back`) and an Ended of
// kind kReturned, encoded and decoded as the coordinator and the worker do (append_message,
// decode_to_worker, decode_from_worker), and frames that no side may accept.
#include "common/messages.h"

#include <string>
#include <variant>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/frame.h"

namespace procpool {
namespace {

using json = nlohmann::json;

// The body of the one frame `out` holds (append_message writes a 4-byte length first).
std::string body_of(const std::string& out) {
  FrameReader reader;
  reader.feed(out);
  auto f = reader.next_frame();
  EXPECT_TRUE(f.has_value());
  EXPECT_FALSE(f && f->output);
  EXPECT_FALSE(reader.next_frame().has_value()) << "more than one frame";
  return f ? std::string(f->body) : std::string();
}

template <typename M>
std::string encoded(const M& m) {
  std::string out;
  append_message(out, m);
  return body_of(out);
}

// A body as another implementation might send it: any fields, MessagePack as messages.cc uses.
std::string body_from(const json& fields) {
  std::string out;
  json::to_msgpack(fields, nlohmann::detail::output_adapter<char>(out));
  return out;
}

Task quick_task(uint64_t id) {
  Task t;
  t.id = id;
  t.shell = "echo " + std::to_string(id);
  t.slot = 2;
  return t;
}

TEST(MessagesAhead, TaskCarriesEachAheadKind) {
  for (Ahead kind : {Ahead::kAfterOk, Ahead::kAfterEnd}) {
    Task sent = quick_task(41);
    sent.ahead = kind;
    std::string body = encoded(sent);
    EXPECT_NE(describe_message(body).find("\"ahead\""), std::string::npos)
        << describe_message(body);
    Task back = std::get<Task>(decode_to_worker(body));
    EXPECT_EQ(back.ahead, kind);
    // The rest of the task is untouched by it.
    EXPECT_EQ(back.id, 41u);
    EXPECT_EQ(back.shell, "echo 41");
    EXPECT_EQ(back.slot, 2);
  }
}

TEST(MessagesAhead, TaskNotAheadSaysNothingOfIt) {
  // A job the worker starts on arrival: no field, so frames of jobs that are not sent ahead
  // stay as they were.
  std::string body = encoded(quick_task(7));
  EXPECT_EQ(describe_message(body).find("ahead"), std::string::npos) << describe_message(body);
  EXPECT_EQ(std::get<Task>(decode_to_worker(body)).ahead, Ahead::kNo);
}

TEST(MessagesAhead, TheTwoKindsAreDistinctOnTheWire) {
  Task ok = quick_task(1), end = quick_task(1);
  ok.ahead = Ahead::kAfterOk;
  end.ahead = Ahead::kAfterEnd;
  EXPECT_NE(encoded(ok), encoded(end));
}

TEST(MessagesAhead, UnknownAheadKindIsAProtocolError) {
  json run = {{"t", "run"}, {"id", 3}, {"sh", "true"}};
  // Accepted as written by append_message...
  for (int kind : {0, 1, 2}) {
    json f = run;
    f["ahead"] = kind;
    EXPECT_EQ(static_cast<int>(std::get<Task>(decode_to_worker(body_from(f))).ahead), kind);
  }
  // ...and nothing else: a worker must not guess when it may start a job.
  for (const json& bad : {json(3), json(-1), json(1000), json("after")}) {
    json f = run;
    f["ahead"] = bad;
    EXPECT_THROW(decode_to_worker(body_from(f)), ProtocolError) << bad.dump();
  }
}

TEST(MessagesAhead, WithdrawRoundTrips) {
  std::string body = encoded(Withdraw{123456789012345ULL});
  EXPECT_NE(describe_message(body).find("\"t\":\"back\""), std::string::npos)
      << describe_message(body);
  ToWorker m = decode_to_worker(body);
  ASSERT_TRUE(std::holds_alternative<Withdraw>(m));
  EXPECT_EQ(std::get<Withdraw>(m).id, 123456789012345ULL);
}

TEST(MessagesAhead, WithdrawWithoutAnIdIsAProtocolError) {
  EXPECT_THROW(decode_to_worker(body_from({{"t", "back"}})), ProtocolError);
  EXPECT_THROW(decode_to_worker(body_from({{"t", "back"}, {"id", "x"}})), ProtocolError);
}

TEST(MessagesAhead, WithdrawIsNotAKill) {
  // The two travel side by side; mixing them up would stop a job instead of handing it back.
  EXPECT_NE(encoded(Withdraw{5}), encoded(Kill{5, false}));
  EXPECT_TRUE(std::holds_alternative<Kill>(decode_to_worker(encoded(Kill{5, true}))));
}

TEST(MessagesAhead, ReturnedEndRoundTrips) {
  EXPECT_STREQ(end_how_name(EndHow::kReturned), "returned");
  Ended sent;
  sent.id = 99;
  sent.how = EndHow::kReturned;
  std::string body = encoded(sent);
  EXPECT_NE(describe_message(body).find("\"how\":\"returned\""), std::string::npos)
      << describe_message(body);
  FromWorker m = decode_from_worker(body);
  ASSERT_TRUE(std::holds_alternative<Ended>(m));
  const Ended& back = std::get<Ended>(m);
  EXPECT_EQ(back.id, 99u);
  EXPECT_EQ(back.how, EndHow::kReturned);
  // It never ran: nothing of a run travels with it.
  EXPECT_FALSE(back.code);
  EXPECT_FALSE(back.sig);
  EXPECT_FALSE(back.dur);
  EXPECT_EQ(back.t0, 0);
}

TEST(MessagesAhead, EveryEndKindRoundTrips) {
  for (EndHow how : {EndHow::kExited, EndHow::kSignaled, EndHow::kTimeout, EndHow::kKilled,
                     EndHow::kError, EndHow::kRefused, EndHow::kReturned}) {
    Ended sent;
    sent.id = 1;
    sent.how = how;
    EXPECT_EQ(std::get<Ended>(decode_from_worker(encoded(sent))).how, how) << end_how_name(how);
  }
  EXPECT_THROW(decode_from_worker(body_from({{"t", "end"}, {"id", 1}, {"how", "handed back"}})),
               ProtocolError);
}

}  // namespace
}  // namespace procpool
