// Frames: encoding round trips, reassembly from arbitrary pieces, corrupt streams, and the
// non-blocking write buffer on a real pipe.
#include "common/frame.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <csignal>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/fd.h"
#include "common/messages.h"

namespace procpool {
namespace {

// The frame layer carries bodies; these tests fill them with MessagePack as messages.cc does,
// and read them back the same way.
using json = nlohmann::json;

std::string msgpack_of(const json& body) {
  std::string out;
  json::to_msgpack(body, nlohmann::detail::output_adapter<char>(out));
  return out;
}

void append_frame(std::string& out, const json& body) {
  procpool::append_frame(out, msgpack_of(body));
}

std::string encode_frame(const json& body) {
  std::string out;
  append_frame(out, body);
  return out;
}

// The next frame as JSON: a body decoded, an output piece as {"t": "out", "id", "s", "d"}.
std::optional<json> next(FrameReader& reader) {
  auto f = reader.next_frame();
  if (!f) return std::nullopt;
  if (f->output) {
    const auto& o = *f->output;
    return json{{"t", "out"},
                {"id", o.id},
                {"s", o.stream},
                {"d", json::binary(std::vector<uint8_t>(o.bytes.begin(), o.bytes.end()))}};
  }
  try {
    return json::from_msgpack(f->body.begin(), f->body.end());
  } catch (const json::exception& e) {
    throw ProtocolError(e.what());
  }
}

std::string all_bytes() {
  std::string s;
  for (int i = 0; i < 256; ++i) s.push_back(static_cast<char>(i));
  return s;
}

json binary_value(const std::string& bytes) {
  return json::binary(std::vector<std::uint8_t>(bytes.begin(), bytes.end()));
}

std::string bytes_of(const json& binary) {
  const auto& v = binary.get_binary();
  return std::string(v.begin(), v.end());
}

std::string header(uint32_t len) {
  std::string h(4, '\0');
  for (int i = 0; i < 4; ++i) h[i] = static_cast<char>((len >> (24 - 8 * i)) & 0xff);
  return h;
}

TEST(Frame, HeaderIsBigEndianLengthOfBody) {
  json body = {{"type", "hello"}, {"version", kProtocolVersion}};
  std::string frame = encode_frame(body);
  ASSERT_GE(frame.size(), 4u);
  std::string msgpack;
  json::to_msgpack(body, nlohmann::detail::output_adapter<char>(msgpack));
  EXPECT_EQ(frame.substr(0, 4), header(static_cast<uint32_t>(msgpack.size())));
  EXPECT_EQ(frame.substr(4), msgpack);
}

TEST(Frame, AppendFrameKeepsWhatWasThere) {
  std::string out = "prefix";
  append_frame(out, json{{"a", 1}});
  EXPECT_EQ(out.substr(0, 6), "prefix");
  EXPECT_EQ(out.substr(6), encode_frame(json{{"a", 1}}));
}

TEST(Frame, RoundTripOfAStructuredBody) {
  json body = {{"type", "job"},       {"id", 42},           {"argv", {"echo", "héllo", ""}},
               {"env", {{"A", "1"}}}, {"timeout_ms", 1500}, {"neg", -7},
               {"pi", 3.25},          {"flag", true},       {"none", nullptr}};
  FrameReader reader;
  reader.feed(encode_frame(body));
  auto got = next(reader);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(*got, body);
  EXPECT_FALSE(reader.mid_frame());
  EXPECT_FALSE(next(reader).has_value());
}

TEST(Frame, BinaryValueWithEveryByteSurvives) {
  std::string bytes = all_bytes() + all_bytes();  // includes NUL, 0xff, invalid UTF-8
  json body = {{"type", "output"}, {"stream", 1}, {"data", binary_value(bytes)}};
  FrameReader reader;
  reader.feed(encode_frame(body));
  auto got = next(reader);
  ASSERT_TRUE(got.has_value());
  ASSERT_TRUE((*got)["data"].is_binary());
  EXPECT_EQ(bytes_of((*got)["data"]), bytes);
  EXPECT_EQ((*got)["stream"], 1);
}

TEST(Frame, EmptyAndLargeBinaryValues) {
  std::string big(1 << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 131) & 0xff);
  FrameReader reader;
  reader.feed(encode_frame(json{{"data", binary_value("")}}));
  reader.feed(encode_frame(json{{"data", binary_value(big)}}));
  auto first = next(reader);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(bytes_of((*first)["data"]), "");
  auto second = next(reader);
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(bytes_of((*second)["data"]), big);
}

TEST(Frame, OneByteAtATime) {
  std::vector<json> bodies = {
      {{"type", "hello"}, {"pid", 123}},
      {{"type", "output"}, {"data", binary_value(all_bytes())}},
      {{"type", "exit"}, {"code", 0}},
  };
  std::string stream;
  for (const auto& b : bodies) append_frame(stream, b);

  FrameReader reader;
  std::vector<json> got;
  for (size_t i = 0; i < stream.size(); ++i) {
    reader.feed(std::string_view(stream).substr(i, 1));
    while (auto f = next(reader)) got.push_back(*f);
    // Between frames (and only there) the reader is not mid-frame.
    bool at_boundary = false;
    size_t offset = 0;
    for (const auto& b : bodies) {
      offset += encode_frame(b).size();
      if (offset == i + 1) at_boundary = true;
    }
    EXPECT_EQ(reader.mid_frame(), !at_boundary) << "after byte " << i;
  }
  EXPECT_EQ(got, bodies);
  EXPECT_FALSE(reader.mid_frame());
}

TEST(Frame, SeveralFramesInOneFeed) {
  std::string stream;
  for (int i = 0; i < 100; ++i) append_frame(stream, json{{"n", i}});
  FrameReader reader;
  reader.feed(stream);
  for (int i = 0; i < 100; ++i) {
    auto f = next(reader);
    ASSERT_TRUE(f.has_value()) << i;
    EXPECT_EQ((*f)["n"], i);
  }
  EXPECT_FALSE(next(reader).has_value());
  EXPECT_FALSE(reader.mid_frame());
}

TEST(Frame, ManyFramesAcrossUnevenFeeds) {
  // Enough data to push the consumed prefix past the reader's compaction point.
  std::string payload(1000, 'x');
  std::string stream;
  constexpr int kFrames = 500;
  for (int i = 0; i < kFrames; ++i) append_frame(stream, json{{"n", i}, {"p", payload}});
  FrameReader reader;
  int next_expected = 0;
  size_t at = 0, step = 1;
  while (at < stream.size()) {
    size_t n = std::min(step, stream.size() - at);
    reader.feed(std::string_view(stream).substr(at, n));
    at += n;
    step = step * 7 % 4099 + 1;  // irregular sizes, some spanning several frames
    while (auto f = next(reader)) {
      ASSERT_EQ((*f)["n"], next_expected);
      ASSERT_EQ((*f)["p"], payload);
      ++next_expected;
    }
  }
  EXPECT_EQ(next_expected, kFrames);
  EXPECT_FALSE(reader.mid_frame());
}

TEST(OutputFrame, EveryByteSurvivesBetweenControlFrames) {
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes += static_cast<char>(i);
  std::string wire;
  append_frame(wire, {{"t", "start"}, {"id", 7}});
  append_output_frame(wire, 7, 2, bytes);
  append_output_frame(wire, (uint64_t{1} << 40) + 3, 1, "");
  append_frame(wire, {{"t", "end"}});
  FrameReader r;
  // Fed a byte at a time: a piece is whole and points at the right bytes whatever the cuts.
  // Bodies and pieces point into the reader's buffer until its next feed: copied at once.
  std::vector<Frame> got;
  std::vector<std::string> pieces, bodies;
  for (char c : wire) {
    r.feed(std::string_view(&c, 1));
    while (auto f = r.next_frame()) {
      if (f->output) pieces.emplace_back(f->output->bytes);
      bodies.emplace_back(f->body);
      got.push_back(std::move(*f));
    }
  }
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(json::from_msgpack(bodies[0])["t"], "start");
  ASSERT_TRUE(got[1].output);
  EXPECT_EQ(got[1].output->id, 7u);
  EXPECT_EQ(got[1].output->stream, 2);
  EXPECT_EQ(pieces[0], bytes);
  EXPECT_EQ(got[2].output->id, (uint64_t{1} << 40) + 3);
  EXPECT_EQ(pieces[1], "");
  EXPECT_EQ(json::from_msgpack(bodies[3])["t"], "end");
  EXPECT_FALSE(r.mid_frame());
}

TEST(OutputFrame, NextGivesItAsJsonWithABinaryValue) {
  std::string wire;
  append_output_frame(wire, 9, 1, std::string("a\0b", 3));
  FrameReader r;
  r.feed(wire);
  auto f = next(r);
  ASSERT_TRUE(f);
  EXPECT_EQ((*f)["t"], "out");
  EXPECT_EQ((*f)["id"], 9);
  EXPECT_EQ((*f)["s"], 1);
  EXPECT_EQ((*f)["d"].get_binary(), (std::vector<uint8_t>{'a', 0, 'b'}));
}

TEST(OutputFrame, BadStreamOrShortHeaderIsAProtocolError) {
  for (std::string body :
       {std::string("\xC1\x03", 2) + std::string(8, '\0'), std::string("\xC1\x01\0\0", 4)}) {
    std::string wire = {0, 0, 0, static_cast<char>(body.size())};
    FrameReader r;
    r.feed(wire + body);
    EXPECT_THROW(r.next_frame(), ProtocolError) << body.size();
  }
}

TEST(Frame, TruncatedFrameWaitsAndIsMidFrame) {
  std::string frame = encode_frame(json{{"type", "output"}, {"data", binary_value("abc")}});
  FrameReader reader;
  reader.feed(std::string_view(frame).substr(0, frame.size() - 1));
  EXPECT_FALSE(next(reader).has_value());
  EXPECT_TRUE(reader.mid_frame());  // EOF now would mean the peer died mid-frame
  reader.feed(std::string_view(frame).substr(frame.size() - 1));
  EXPECT_TRUE(next(reader).has_value());
  EXPECT_FALSE(reader.mid_frame());
}

TEST(Frame, PartialHeaderIsMidFrame) {
  FrameReader reader;
  EXPECT_FALSE(reader.mid_frame());
  reader.feed(std::string("\0\0", 2));
  EXPECT_FALSE(next(reader).has_value());
  EXPECT_TRUE(reader.mid_frame());
}

TEST(Frame, CompleteFrameThenTruncatedOne) {
  std::string a = encode_frame(json{{"n", 1}});
  std::string b = encode_frame(json{{"n", 2}});
  FrameReader reader;
  reader.feed(a + b.substr(0, 5));
  auto first = next(reader);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ((*first)["n"], 1);
  EXPECT_FALSE(next(reader).has_value());
  EXPECT_TRUE(reader.mid_frame());
}

TEST(Frame, LengthAboveTheCapThrowsFromTheHeaderAlone) {
  // Only the 4 header bytes are fed: the reader must reject the length without waiting for
  // (or reserving room for) a body of that size.
  FrameReader reader;
  reader.feed(header(kMaxFrameBytes + 1));
  try {
    next(reader);
    FAIL() << "expected ProtocolError";
  } catch (const ProtocolError& e) {
    EXPECT_NE(std::string(e.what()).find(std::to_string(kMaxFrameBytes + 1)), std::string::npos)
        << e.what();
  }
  FrameReader worst;
  worst.feed(header(0xffffffffu));
  EXPECT_THROW(next(worst), ProtocolError);
}

TEST(Frame, LengthAtTheCapIsAccepted) {
  FrameReader reader;
  reader.feed(header(kMaxFrameBytes));
  EXPECT_FALSE(next(reader).has_value());  // waits for the body, no error
  EXPECT_TRUE(reader.mid_frame());
}

TEST(Frame, GarbageBodyThrowsProtocolError) {
  // Bodies the frame layer passes on, which messages.cc refuses to decode.
  auto decode = [](const std::string& wire) {
    FrameReader reader;
    reader.feed(wire);
    auto f = reader.next_frame();
    if (!f) throw std::runtime_error("no frame");
    decode_from_worker(f->body);
  };
  // A map header announcing 3 entries, followed by nothing that completes it.
  EXPECT_THROW(decode(header(2) + "\x83\xa1"), ProtocolError);
  EXPECT_THROW(decode(header(0)), ProtocolError);
  EXPECT_THROW(decode(encode_frame(json{{"t", "nonsense"}})), ProtocolError);
  EXPECT_THROW(decode(encode_frame(json{{"t", "start"}, {"id", "seven"}, {"pid", 1}})),
               ProtocolError);
  // 0xc1 alone starts an output frame, too short for its header.
  FrameReader reader;
  reader.feed(header(1) + "\xc1");
  EXPECT_THROW(reader.next_frame(), ProtocolError);
}

TEST(Frame, TrailingBytesInsideAFrameAreAnError) {
  std::string msgpack = msgpack_of(json{{"t", "start"}, {"id", 1}, {"pid", 2}});
  msgpack += '\x01';  // a second value glued on inside the same frame
  FrameReader reader;
  reader.feed(header(static_cast<uint32_t>(msgpack.size())) + msgpack);
  auto f = reader.next_frame();
  ASSERT_TRUE(f.has_value());
  EXPECT_THROW(decode_from_worker(f->body), ProtocolError);
}

class WriteBufferPipe : public ::testing::Test {
 protected:
  void SetUp() override {
    previous_ = std::signal(SIGPIPE, SIG_IGN);
    pipe_ = make_pipe();
    set_nonblocking(pipe_.write.get());
    set_nonblocking(pipe_.read.get());
  }
  void TearDown() override { std::signal(SIGPIPE, previous_); }

  // Reads whatever is available now (the read end is non-blocking).
  std::string drain_some(size_t max) {
    std::string out(max, '\0');
    ssize_t n = ::read(pipe_.read.get(), out.data(), out.size());
    if (n < 0) {
      EXPECT_EQ(errno, EAGAIN);
      return "";
    }
    out.resize(static_cast<size_t>(n));
    return out;
  }

  void (*previous_)(int) = SIG_DFL;
  Pipe pipe_;
};

TEST_F(WriteBufferPipe, SlowReaderGetsEveryByteInOrder) {
  int capacity = ::fcntl(pipe_.write.get(), F_GETPIPE_SZ);
  ASSERT_GT(capacity, 0);
  // Several times the pipe's capacity, with a pattern that shows reordering or loss.
  std::string expected;
  for (size_t i = 0; expected.size() < static_cast<size_t>(capacity) * 4 + 12345; ++i) {
    append_frame(expected, json{{"n", i}, {"data", binary_value(all_bytes())}});
  }
  WriteBuffer wb;
  wb.data() = expected;
  EXPECT_FALSE(wb.empty());

  // The first flush fills the pipe and stops (EAGAIN) instead of blocking.
  ASSERT_TRUE(wb.flush(pipe_.write.get()));
  EXPECT_FALSE(wb.empty());
  EXPECT_EQ(wb.pending(), expected.size() - static_cast<size_t>(capacity));

  std::string received;
  int rounds = 0;
  while (received.size() < expected.size()) {
    ASSERT_LT(++rounds, 100000) << "no progress";
    // The slow reader: takes a small piece, then the writer flushes again when POLLOUT says so.
    received += drain_some(3000);
    pollfd p{pipe_.write.get(), POLLOUT, 0};
    if (!wb.empty() && ::poll(&p, 1, 0) == 1) {
      ASSERT_TRUE(wb.flush(pipe_.write.get()));
    }
    // Nothing lost or duplicated: every byte is queued, in the pipe, or received.
    int in_pipe = 0;
    ASSERT_EQ(::ioctl(pipe_.read.get(), FIONREAD, &in_pipe), 0);
    ASSERT_EQ(wb.pending() + static_cast<size_t>(in_pipe) + received.size(), expected.size());
  }
  EXPECT_TRUE(wb.empty());
  EXPECT_EQ(wb.pending(), 0u);
  ASSERT_EQ(received.size(), expected.size());
  EXPECT_TRUE(received == expected) << "bytes arrived out of order or changed";

  // The received stream decodes back into the same frames.
  FrameReader reader;
  reader.feed(received);
  size_t n = 0;
  while (auto f = next(reader)) {
    ASSERT_EQ((*f)["n"], n);
    ++n;
  }
  EXPECT_FALSE(reader.mid_frame());
}

TEST_F(WriteBufferPipe, MoreBytesQueuedAfterAPartialFlush) {
  int capacity = ::fcntl(pipe_.write.get(), F_GETPIPE_SZ);
  ASSERT_GT(capacity, 0);
  std::string first(static_cast<size_t>(capacity) + 100, 'a');
  WriteBuffer wb;
  wb.data() = first;
  ASSERT_TRUE(wb.flush(pipe_.write.get()));
  ASSERT_EQ(wb.pending(), 100u);
  wb.data() += "tail";
  EXPECT_EQ(wb.pending(), 104u);
  std::string received;
  while (received.size() < first.size() + 4) {
    received += drain_some(65536);
    ASSERT_TRUE(wb.flush(pipe_.write.get()));
  }
  EXPECT_EQ(received, first + "tail");
  EXPECT_TRUE(wb.empty());
}

TEST_F(WriteBufferPipe, FlushOfEmptyBufferIsANoOp) {
  WriteBuffer wb;
  EXPECT_TRUE(wb.empty());
  EXPECT_TRUE(wb.flush(pipe_.write.get()));
  EXPECT_EQ(drain_some(16), "");
}

TEST_F(WriteBufferPipe, FlushReturnsFalseWhenTheReaderIsGone) {
  pipe_.read.reset();
  WriteBuffer wb;
  wb.data() = encode_frame(json{{"type", "job"}});
  EXPECT_FALSE(wb.flush(pipe_.write.get()));  // EPIPE, and SIGPIPE did not kill us
  EXPECT_FALSE(wb.empty());
}

TEST_F(WriteBufferPipe, FlushReturnsFalseWhenTheReaderLeavesMidway) {
  int capacity = ::fcntl(pipe_.write.get(), F_GETPIPE_SZ);
  ASSERT_GT(capacity, 0);
  WriteBuffer wb;
  wb.data() = std::string(static_cast<size_t>(capacity) * 2, 'z');
  ASSERT_TRUE(wb.flush(pipe_.write.get()));  // pipe full, rest queued
  ASSERT_FALSE(wb.empty());
  pipe_.read.reset();
  EXPECT_FALSE(wb.flush(pipe_.write.get()));
}

}  // namespace
}  // namespace procpool
