// Output: arrival order of both streams, merging of runs, spilling to a file, raw bytes.
#include <procpool/output.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include <procpool/job.h>
#include "tests/support/e2e.h"
#include "tests/support/tmpfs.h"

namespace procpool {
namespace {

using Piece = std::pair<Stream, std::string>;

// What for_each hands out, with consecutive pieces of one stream joined (a long run may come in
// several bounded pieces).
std::vector<Piece> runs_of(const Output& out) {
  std::vector<Piece> runs;
  out.for_each([&](Stream s, std::string_view bytes) {
    EXPECT_FALSE(bytes.empty()) << "for_each handed out an empty piece";
    if (!runs.empty() && runs.back().first == s) {
      runs.back().second.append(bytes);
    } else {
      runs.emplace_back(s, std::string(bytes));
    }
  });
  return runs;
}

// What for_each hands out, piece by piece, unmerged.
std::vector<Piece> pieces_of(const Output& out) {
  std::vector<Piece> pieces;
  out.for_each(
      [&](Stream s, std::string_view bytes) { pieces.emplace_back(s, std::string(bytes)); });
  return pieces;
}

std::string all_bytes() {
  std::string s;
  for (int i = 0; i < 256; ++i) s.push_back(static_cast<char>(i));
  return s;
}

// The same interleaving fed to any Output.
void feed_interleaved(Output& out) {
  out.append(Stream::kStdout, "compiling a\n");
  out.append(Stream::kStdout, "compiling b\n");
  out.append(Stream::kStderr, "warning: b\n");
  out.append(Stream::kStdout, "linking\n");
  out.append(Stream::kStderr, "error: ld\n");
  out.append(Stream::kStderr, "collect2\n");
  out.append(Stream::kStdout, "");  // empty appends change nothing
  out.append(Stream::kStdout, "done\n");
}

const std::vector<Piece> kInterleavedRuns = {
    {Stream::kStdout, "compiling a\ncompiling b\n"},
    {Stream::kStderr, "warning: b\n"},
    {Stream::kStdout, "linking\n"},
    {Stream::kStderr, "error: ld\ncollect2\n"},
    {Stream::kStdout, "done\n"},
};

TEST(Output, StartsEmpty) {
  Output out;
  EXPECT_TRUE(out.empty());
  EXPECT_FALSE(out.spilled());
  EXPECT_EQ(out.size(Stream::kStdout), 0u);
  EXPECT_EQ(out.size(Stream::kStderr), 0u);
  EXPECT_EQ(out.text(Stream::kStdout), "");
  EXPECT_TRUE(pieces_of(out).empty());
}

TEST(Output, EmptyAppendStaysEmpty) {
  Output out;
  out.append(Stream::kStderr, "");
  EXPECT_TRUE(out.empty());
  EXPECT_TRUE(pieces_of(out).empty());
}

TEST(Output, ArrivalOrderKeptAndAdjacentRunsMerged) {
  Output out;
  feed_interleaved(out);
  EXPECT_FALSE(out.spilled());
  // In memory every run is one piece: adjacent appends of one stream were merged.
  EXPECT_EQ(pieces_of(out), kInterleavedRuns);
}

TEST(Output, TextAndSizePerStream) {
  Output out;
  feed_interleaved(out);
  EXPECT_EQ(out.text(Stream::kStdout), "compiling a\ncompiling b\nlinking\ndone\n");
  EXPECT_EQ(out.text(Stream::kStderr), "warning: b\nerror: ld\ncollect2\n");
  EXPECT_EQ(out.size(Stream::kStdout), out.text(Stream::kStdout).size());
  EXPECT_EQ(out.size(Stream::kStderr), out.text(Stream::kStderr).size());
  EXPECT_FALSE(out.empty());
}

TEST(Output, OnlyStderr) {
  Output out;
  out.append(Stream::kStderr, "oops");
  EXPECT_FALSE(out.empty());
  EXPECT_EQ(out.text(Stream::kStdout), "");
  EXPECT_EQ(out.text(Stream::kStderr), "oops");
  EXPECT_EQ(pieces_of(out), (std::vector<Piece>{{Stream::kStderr, "oops"}}));
}

TEST(Output, SpillingGivesIdenticalResults) {
  Output memory;  // default threshold: stays in memory
  Output spilling(16);
  feed_interleaved(memory);
  feed_interleaved(spilling);
  EXPECT_FALSE(memory.spilled());
  EXPECT_TRUE(spilling.spilled());
  EXPECT_EQ(runs_of(spilling), kInterleavedRuns);
  EXPECT_EQ(runs_of(spilling), runs_of(memory));
  EXPECT_EQ(spilling.text(Stream::kStdout), memory.text(Stream::kStdout));
  EXPECT_EQ(spilling.text(Stream::kStderr), memory.text(Stream::kStderr));
  EXPECT_EQ(spilling.size(Stream::kStdout), memory.size(Stream::kStdout));
  EXPECT_EQ(spilling.size(Stream::kStderr), memory.size(Stream::kStderr));
}

TEST(Output, SpillsOnlyPastTheThreshold) {
  Output out(16);
  out.append(Stream::kStdout, std::string(16, 'a'));
  EXPECT_FALSE(out.spilled());  // exactly at the threshold still fits
  out.append(Stream::kStderr, "b");
  EXPECT_TRUE(out.spilled());
  out.append(Stream::kStdout, "c");  // appended straight to the file
  EXPECT_EQ(runs_of(out), (std::vector<Piece>{{Stream::kStdout, std::string(16, 'a')},
                                              {Stream::kStderr, "b"},
                                              {Stream::kStdout, "c"}}));
}

TEST(Output, SpilledLargeRunsComeBackWhole) {
  // Runs far bigger than any internal read size, so for_each has to hand them out in pieces.
  Output spilling(16);
  Output memory;
  std::string big_out, big_err;
  for (int i = 0; i < 300'000; ++i) big_out.push_back(static_cast<char>('a' + i % 26));
  for (int i = 0; i < 200'000; ++i) big_err.push_back(static_cast<char>(i % 251));
  for (Output* o : {&spilling, &memory}) {
    o->append(Stream::kStdout, big_out.substr(0, 100'000));
    o->append(Stream::kStdout, big_out.substr(100'000));
    o->append(Stream::kStderr, big_err);
    o->append(Stream::kStdout, "end");
  }
  ASSERT_TRUE(spilling.spilled());
  ASSERT_FALSE(memory.spilled());
  std::vector<Piece> expected = {
      {Stream::kStdout, big_out}, {Stream::kStderr, big_err}, {Stream::kStdout, "end"}};
  EXPECT_TRUE(runs_of(spilling) == expected);
  EXPECT_TRUE(runs_of(memory) == expected);
  EXPECT_TRUE(spilling.text(Stream::kStdout) == big_out + "end");
  EXPECT_TRUE(spilling.text(Stream::kStderr) == big_err);
}

TEST(Output, BinaryBytesIncludingNulSurvive) {
  std::string bytes = all_bytes();
  bytes += std::string("\0\0\xff\0", 4);
  for (size_t threshold : {Output::kDefaultSpillBytes, size_t{16}}) {
    Output out(threshold);
    out.append(Stream::kStdout, bytes);
    out.append(Stream::kStderr, std::string_view("\0", 1));
    out.append(Stream::kStdout, bytes);
    EXPECT_EQ(out.spilled(), threshold == 16);
    EXPECT_EQ(out.size(Stream::kStdout), 2 * bytes.size());
    EXPECT_TRUE(out.text(Stream::kStdout) == bytes + bytes) << "threshold " << threshold;
    EXPECT_EQ(out.text(Stream::kStderr), std::string(1, '\0'));
    EXPECT_EQ(runs_of(out), (std::vector<Piece>{{Stream::kStdout, bytes},
                                                {Stream::kStderr, std::string(1, '\0')},
                                                {Stream::kStdout, bytes}}));
  }
}

TEST(Output, MoveConstructKeepsEverything) {
  for (size_t threshold : {Output::kDefaultSpillBytes, size_t{16}}) {
    Output src(threshold);
    feed_interleaved(src);
    bool was_spilled = src.spilled();
    Output dst(std::move(src));
    EXPECT_EQ(dst.spilled(), was_spilled);
    EXPECT_EQ(runs_of(dst), kInterleavedRuns) << "threshold " << threshold;
    EXPECT_EQ(dst.text(Stream::kStderr), "warning: b\nerror: ld\ncollect2\n");
    // The moved-to capture keeps working, with the threshold it was made with.
    dst.append(Stream::kStderr, "more");
    EXPECT_EQ(dst.text(Stream::kStderr), "warning: b\nerror: ld\ncollect2\nmore");
  }
}

TEST(Output, MoveAssignReplacesTheTarget) {
  Output spilled(16);
  feed_interleaved(spilled);
  ASSERT_TRUE(spilled.spilled());
  Output target(16);
  target.append(Stream::kStdout, std::string(100, 'q'));
  ASSERT_TRUE(target.spilled());
  target = std::move(spilled);
  EXPECT_TRUE(target.spilled());
  EXPECT_EQ(runs_of(target), kInterleavedRuns);

  Output in_memory;
  in_memory.append(Stream::kStdout, "small");
  target = std::move(in_memory);
  EXPECT_FALSE(target.spilled());
  EXPECT_EQ(runs_of(target), (std::vector<Piece>{{Stream::kStdout, "small"}}));
}

TEST(Output, MovedFromStaysConsistent) {
  // A moved-from capture must still be a valid one: its sizes agree with what it holds, and
  // reusing it starts afresh.
  for (size_t threshold : {Output::kDefaultSpillBytes, size_t{16}}) {
    Output src(threshold);
    feed_interleaved(src);
    Output dst(std::move(src));
    EXPECT_EQ(src.size(Stream::kStdout), src.text(Stream::kStdout).size()) << threshold;
    EXPECT_EQ(src.size(Stream::kStderr), src.text(Stream::kStderr).size()) << threshold;
    EXPECT_EQ(src.empty(), pieces_of(src).empty()) << threshold;
    src.append(Stream::kStdout, "x");
    EXPECT_EQ(src.text(Stream::kStdout), "x");
    EXPECT_EQ(src.size(Stream::kStdout), 1u) << threshold;
  }
  // Reused until it spills: bytes written after the spill must land where they are read back.
  Output src(16);
  feed_interleaved(src);
  Output dst(std::move(src));
  src.append(Stream::kStdout, std::string(20, 'a'));
  src.append(Stream::kStdout, "tail");
  EXPECT_TRUE(src.spilled());
  EXPECT_EQ(src.text(Stream::kStdout), std::string(20, 'a') + "tail");
}

TEST(Output, TravelsInsideAResult) {
  // Result owns its Output and is moved around by the pool.
  Result r;
  r.output = Output(16);
  feed_interleaved(r.output);
  Result moved = std::move(r);
  EXPECT_TRUE(moved.output.spilled());
  EXPECT_EQ(runs_of(moved.output), kInterleavedRuns);
}

// ---- the overall budget and the shared spill file ----------------------------------------------

size_t open_descriptors() {
  size_t n = 0;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd");
       it != std::filesystem::directory_iterator(); ++it) {
    ++n;
  }
  return n;
}

// The budget is process-wide: each case sets its own and puts the default back.
class OutputBudget : public ::testing::Test {
 protected:
  void TearDown() override { Output::set_memory_budget(Output::kDefaultMemoryBudget); }
  // Distinct content per capture, so a byte read from another capture's extent shows.
  static std::string piece(size_t capture, size_t n) {
    return std::string(n, static_cast<char>('a' + capture % 26));
  }
};

TEST_F(OutputBudget, CapturesTogetherHoldAtMostTheBudgetInMemory) {
  constexpr uint64_t kBudget = 1u << 20;
  Output::set_memory_budget(kBudget);
  uint64_t before = Output::memory_held();
  std::vector<Output> kept;
  // 100 captures of 64 KiB: each far below its own 1 MiB threshold, 6.25 MiB together.
  for (size_t c = 0; c < 100; ++c) {
    Output out;
    for (int i = 0; i < 16; ++i) ASSERT_TRUE(out.append(Stream::kStdout, piece(c, 4096)));
    out.seal();
    kept.push_back(std::move(out));
    // A capture checks the budget as it grows: at most one chunk over it.
    EXPECT_LE(Output::memory_held() - before, kBudget + (128u << 10)) << "capture " << c;
  }
  EXPECT_TRUE(kept.back().spilled());
  for (size_t c = 0; c < kept.size(); ++c) {
    EXPECT_EQ(kept[c].text(Stream::kStdout), piece(c, 16 * 4096)) << "capture " << c;
  }
  kept.clear();
  EXPECT_EQ(Output::memory_held(), before);
}

TEST_F(OutputBudget, KeptSpilledCapturesHoldNoDescriptorEach) {
  size_t before = open_descriptors();
  std::vector<Output> kept;
  for (size_t c = 0; c < 300; ++c) {
    Output out(16);  // spills at once
    ASSERT_TRUE(out.append(Stream::kStdout, piece(c, 1000)));
    ASSERT_TRUE(out.append(Stream::kStderr, piece(c + 1, 10)));
    out.seal();
    ASSERT_TRUE(out.spilled());
    kept.push_back(std::move(out));
  }
  EXPECT_LE(open_descriptors(), before + 1) << "one shared spill file at most";
  for (size_t c = 0; c < kept.size(); ++c) {
    EXPECT_EQ(kept[c].text(Stream::kStdout), piece(c, 1000));
    EXPECT_EQ(kept[c].text(Stream::kStderr), piece(c + 1, 10));
  }
  kept.clear();
  EXPECT_EQ(open_descriptors(), before) << "the spill file closes with its last capture";
}

TEST_F(OutputBudget, CapturesGrowingTogetherReadBackTheirOwnBytes) {
  // Two running jobs spill into the one file at once: their extents interleave.
  Output a(16), b(16);
  std::string want_a, want_b;
  for (int i = 0; i < 300; ++i) {
    std::string pa = piece(0, 1000 + i), pb = piece(1, 3000 - i);
    Stream sa = i % 3 ? Stream::kStdout : Stream::kStderr;
    ASSERT_TRUE(a.append(sa, pa));
    ASSERT_TRUE(b.append(Stream::kStdout, pb));
    if (sa == Stream::kStdout) want_a += pa;
    want_b += pb;
  }
  a.seal();
  b.seal();
  EXPECT_EQ(a.text(Stream::kStdout), want_a);
  EXPECT_EQ(b.text(Stream::kStdout), want_b);
  EXPECT_EQ(a.size(Stream::kStdout) + a.size(Stream::kStderr), 0u + 300 * 1000 + 299 * 300 / 2);
}

// A full TMPDIR mid-capture: what could not be written is counted lost, and what is kept reads
// back exactly as counted (the tail of a failed job is what it last printed that was kept).
TEST_F(OutputBudget, ASpillThatFailsMidwayKeepsCountsTrue) {
  if (::geteuid() != 0) GTEST_SKIP() << "mounting a small tmpfs needs root";
  testing::TempDir dir;
  testing::ScopedTmpfs disk(dir.path() + "/tmp", "64k");
  if (!disk.mounted()) GTEST_SKIP() << "cannot mount a tmpfs: " << disk.error();
  const char* saved = ::getenv("TMPDIR");
  std::string restore = saved ? saved : "";
  ::setenv("TMPDIR", disk.dir().c_str(), 1);
  {
    Output out(16);
    uint64_t given = 0;
    for (int i = 0; i < 100 && out.failure().empty(); ++i) {
      out.append(i % 2 ? Stream::kStdout : Stream::kStderr, std::string(3000, 'a' + i % 26));
      given += 3000;
    }
    out.seal();
    EXPECT_FALSE(out.failure().empty()) << "the 64 KiB disk took 300 KB";
    uint64_t kept = out.size(Stream::kStdout) + out.size(Stream::kStderr);
    EXPECT_EQ(kept + out.dropped(), given);
    EXPECT_EQ(out.text(Stream::kStdout).size(), out.size(Stream::kStdout));
    EXPECT_EQ(out.text(Stream::kStderr).size(), out.size(Stream::kStderr));
  }
  if (saved) {
    ::setenv("TMPDIR", restore.c_str(), 1);
  } else {
    ::unsetenv("TMPDIR");
  }
}

TEST_F(OutputBudget, AppendsAfterSealStillLand) {
  Output out(16);
  ASSERT_TRUE(out.append(Stream::kStdout, "first "));
  out.seal();
  ASSERT_TRUE(out.append(Stream::kStdout, "second"));
  EXPECT_EQ(out.text(Stream::kStdout), "first second");
}

// ---- copies share the bytes ---------------------------------------------------------------------

TEST_F(OutputBudget, CopiesReadTheSameBytes) {
  for (size_t threshold : {Output::kDefaultSpillBytes, size_t{16}}) {
    Output src(threshold);
    feed_interleaved(src);
    src.seal();
    Output copy(src);
    Output assigned;
    assigned = src;
    for (const Output* o : {&copy, &assigned}) {
      EXPECT_EQ(runs_of(*o), kInterleavedRuns) << threshold;
      EXPECT_EQ(o->spilled(), src.spilled());
      EXPECT_EQ(o->size(Stream::kStdout), src.size(Stream::kStdout));
      EXPECT_EQ(o->size(Stream::kStderr), src.size(Stream::kStderr));
    }
    // The original goes first: the copies still read everything.
    src = Output();
    EXPECT_EQ(runs_of(copy), kInterleavedRuns) << threshold;
    EXPECT_EQ(runs_of(assigned), kInterleavedRuns) << threshold;
  }
}

TEST_F(OutputBudget, SharedBytesAreCountedOnceAndGivenBackByTheLastCopy) {
  uint64_t before = Output::memory_held();
  std::optional<Output> original;
  original.emplace();
  ASSERT_TRUE(original->append(Stream::kStdout, piece(0, 64 << 10)));
  original->seal();
  uint64_t one = Output::memory_held() - before;
  ASSERT_GE(one, 64u << 10);
  std::vector<Output> copies(10, *original);
  EXPECT_EQ(Output::memory_held() - before, one) << "ten copies, one capture";
  original.reset();
  EXPECT_EQ(Output::memory_held() - before, one) << "the copies still hold it";
  EXPECT_EQ(copies[9].text(Stream::kStdout), piece(0, 64 << 10));
  copies.resize(1);
  EXPECT_EQ(Output::memory_held() - before, one);
  copies.clear();
  EXPECT_EQ(Output::memory_held(), before) << "given back with the last copy";
}

TEST_F(OutputBudget, SpilledCopiesShareOneExtentGivenBackByTheLastCopy) {
  size_t descriptors = open_descriptors();
  std::vector<Output> copies;
  {
    Output out(16);
    ASSERT_TRUE(out.append(Stream::kStdout, piece(1, 200000)));
    out.seal();
    ASSERT_TRUE(out.spilled());
    copies.assign(5, out);
  }
  EXPECT_LE(open_descriptors(), descriptors + 1) << "one shared spill file";
  for (const Output& c : copies) EXPECT_EQ(c.text(Stream::kStdout), piece(1, 200000));
  copies.clear();
  EXPECT_EQ(open_descriptors(), descriptors) << "the file closes with the last copy";
}

TEST_F(OutputBudget, AppendingToACopyLeavesTheOthersAsTheyWere) {
  for (size_t threshold : {Output::kDefaultSpillBytes, size_t{16}}) {
    uint64_t before = Output::memory_held();
    {
      Output a(threshold);
      feed_interleaved(a);
      a.seal();
      Output b = a;
      ASSERT_TRUE(b.append(Stream::kStderr, "only in b\n"));
      ASSERT_TRUE(a.append(Stream::kStdout, "only in a\n"));
      std::vector<Piece> want_a = kInterleavedRuns, want_b = kInterleavedRuns;
      want_a.back().second += "only in a\n";
      want_b.push_back({Stream::kStderr, "only in b\n"});
      EXPECT_EQ(runs_of(a), want_a) << threshold;
      EXPECT_EQ(runs_of(b), want_b) << threshold;
      EXPECT_EQ(b.spilled(), a.spilled());
      EXPECT_EQ(b.size(Stream::kStderr), a.size(Stream::kStderr) + 10);
    }
    EXPECT_EQ(Output::memory_held(), before) << threshold;
  }
}

TEST_F(OutputBudget, SealLeavesASharedCaptureAsItIs) {
  uint64_t before = Output::memory_held();
  Output a(16);
  ASSERT_TRUE(a.append(Stream::kStdout, piece(2, 100)));   // spills
  ASSERT_TRUE(a.append(Stream::kStdout, piece(3, 5000)));  // waits in memory for a whole chunk
  ASSERT_GT(Output::memory_held(), before);
  {
    Output b = a;
    a.seal();  // shared: nothing moves under b
    EXPECT_EQ(b.text(Stream::kStdout), piece(2, 100) + piece(3, 5000));
    EXPECT_GT(Output::memory_held(), before);
  }
  a.seal();  // alone again: what waited is written
  EXPECT_EQ(Output::memory_held(), before);
  EXPECT_EQ(a.text(Stream::kStdout), piece(2, 100) + piece(3, 5000));
}

TEST_F(OutputBudget, CopiesAreReadFromOtherThreadsWhileTheOriginalGoes) {
  for (size_t threshold : {Output::kDefaultSpillBytes, size_t{16}}) {
    uint64_t before = Output::memory_held();
    std::vector<std::string> got(4);
    std::vector<std::thread> readers;
    {
      Output out(threshold);
      for (int i = 0; i < 64; ++i) ASSERT_TRUE(out.append(Stream::kStdout, piece(i, 1000)));
      out.seal();
      for (auto& g : got) {
        readers.emplace_back([copy = out, &g] {
          for (int n = 0; n < 10; ++n) g = copy.text(Stream::kStdout);
        });
      }
    }
    for (auto& t : readers) t.join();
    std::string want;
    for (int i = 0; i < 64; ++i) want += piece(i, 1000);
    for (const auto& g : got) EXPECT_EQ(g, want) << threshold;
    EXPECT_EQ(Output::memory_held(), before) << threshold;
  }
}

TEST(Output, ResultsAreCopiedWithTheirOutput) {
  Result r;
  r.status = Status::kFailed;
  r.exit_code = 2;
  r.output = Output(16);
  feed_interleaved(r.output);
  r.output.seal();
  Result copy = r;
  r = Result();
  EXPECT_EQ(copy.exit_code, 2);
  EXPECT_EQ(runs_of(copy.output), kInterleavedRuns);
}

}  // namespace
}  // namespace procpool
