// `procpool map --pipe`: where BlockReader cuts stdin (each case read from a file, from a pipe
// written at once, and from a pipe another thread feeds a few bytes at a time: the same blocks
// every way), what reaches the jobs' stdin through the built binary, the flags that do not go
// with --pipe, GNU parallel's --pipe side by side on the same input, memory over 1 GiB, and {%}
// inside single quotes.
//
// Every run of a program is killed after 120 s, and a job that waits for another gives up after
// 20 s, so a broken build fails instead of hanging.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <iterator>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "cli/pipe_blocks.h"
#include "cli/sources.h"
#include "common/fd.h"
#include "common/job_file.h"
#include "tests/support/e2e.h"
#include "tests/support/gnu_parallel.h"
#include "tests/support/process_checks.h"

namespace procpool::testing {
namespace {

namespace fs = std::filesystem;
using Blocks = std::vector<std::string>;
using Words = std::vector<std::string>;

// ---- BlockReader ---------------------------------------------------------------------------

BlockSpec spec(size_t block, std::string recend = "\n", std::string recstart = "",
               std::optional<uint64_t> records = std::nullopt) {
  BlockSpec s;
  s.block = block;
  s.recend = std::move(recend);
  s.recstart = std::move(recstart);
  s.records = records;
  return s;
}

Blocks read_blocks(Fd fd, const BlockSpec& s) {
  BlockReader reader(std::move(fd), s);
  Blocks out;
  std::string block;
  while (fetch_waiting([&](std::string& b) { return reader.fetch(b); }, [&] { return reader.fd(); },
                       block)) {
    out.push_back(block);
  }
  return out;
}

enum class Feed {
  kFile,     // a regular file: all there from the start
  kPipe,     // a pipe written in one go
  kTrickle,  // a pipe written in pieces of 1 to 7 bytes (and some of 4 KiB, for big inputs)
};

const char* name(Feed f) {
  switch (f) {
    case Feed::kFile:
      return "file";
    case Feed::kPipe:
      return "pipe";
    case Feed::kTrickle:
      return "pipe in small writes";
  }
  return "?";
}

Blocks blocks_via(Feed feed, const std::string& input, const BlockSpec& s) {
  if (feed == Feed::kFile) {
    TempDir dir;
    std::string path = dir.write("input", input);
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    EXPECT_TRUE(fd.valid());
    return read_blocks(std::move(fd), s);
  }
  ::signal(SIGPIPE, SIG_IGN);  // a reader that throws closes its end before the writer is done
  Pipe p = make_pipe();
  std::thread writer([&input, feed, w = std::move(p.write)] {
    if (feed == Feed::kPipe) {
      write_all(w.get(), input);
      return;
    }
    const size_t pieces[] = {1, 3, 2, 7, 5, 1, 4, input.size() > 100000 ? 4099u : 6u};
    size_t at = 0;
    for (size_t i = 0; at < input.size(); ++i) {
      size_t n = std::min(pieces[i % std::size(pieces)], input.size() - at);
      if (!write_all(w.get(), std::string_view(input).substr(at, n))) return;
      at += n;
    }
  });
  try {
    Blocks got = read_blocks(std::move(p.read), s);
    writer.join();
    return got;
  } catch (...) {
    writer.join();
    throw;
  }
}

std::string joined(const Blocks& blocks) {
  std::string all;
  for (const auto& b : blocks) all += b;
  return all;
}

std::vector<size_t> sizes(const Blocks& blocks) {
  std::vector<size_t> out;
  for (const auto& b : blocks) out.push_back(b.size());
  return out;
}

// The blocks of `input`, the same read every way; they never are empty and together are the
// input byte for byte.
Blocks blocks_of(const std::string& input, const BlockSpec& s) {
  Blocks first = blocks_via(Feed::kFile, input, s);
  for (Feed feed : {Feed::kPipe, Feed::kTrickle}) {
    Blocks got = blocks_via(feed, input, s);
    if (input.size() > 5000) {
      EXPECT_TRUE(got == first) << name(feed) << ": other blocks than from a file (" << got.size()
                                << " and " << first.size() << ")";
    } else {
      EXPECT_EQ(got, first) << name(feed);
    }
  }
  EXPECT_TRUE(joined(first) == input) << "the blocks are not the input";
  for (const auto& b : first) EXPECT_FALSE(b.empty()) << "an empty block";
  return first;
}

std::string seq(int from, int to) {
  std::string out;
  for (int i = from; i <= to; ++i) out += std::to_string(i) + "\n";
  return out;
}

// GNU parallel: `seq 1 100 | parallel --pipe --block 50 wc -c` prints 48 (six times) and 4.
TEST(BlockReader, CutsAtTheLastRecordEndWithinTheBlock) {
  EXPECT_EQ(sizes(blocks_of(seq(1, 100), spec(50))),
            (std::vector<size_t>{48, 48, 48, 48, 48, 48, 4}));
  Blocks thousands = blocks_of(seq(1, 5000), spec(1000));
  for (size_t i = 0; i < thousands.size(); ++i) {
    EXPECT_LE(thousands[i].size(), 1000u);
    if (i + 1 < thousands.size()) {
      EXPECT_GT(thousands[i].size(), 1000u - 5u) << "room for one more record was left";
    }
    EXPECT_EQ(thousands[i].back(), '\n');
  }
  // Records that fill the block exactly.
  std::string tens = "123456789\n123456789\n123456789\n";
  EXPECT_EQ(sizes(blocks_of(tens, spec(10))), (std::vector<size_t>{10, 10, 10}));
  EXPECT_EQ(sizes(blocks_of(tens, spec(20))), (std::vector<size_t>{20, 10}));
  EXPECT_EQ(sizes(blocks_of(tens, spec(19))), (std::vector<size_t>{10, 10, 10}));
  EXPECT_EQ(blocks_of(tens, spec(1 << 20)), Blocks{tens});
}

TEST(BlockReader, ARecordLongerThanTheBlockIsABlockOfItsOwn) {
  std::string longer = std::string(300, 'y') + "\n";
  EXPECT_EQ(blocks_of("a\n" + longer + "b\nc\n", spec(10)), (Blocks{"a\n", longer, "b\nc\n"}));
  EXPECT_EQ(blocks_of(longer + longer, spec(10)), (Blocks{longer, longer}));
  EXPECT_EQ(blocks_of("a\n" + std::string(300, 'z'), spec(10)),
            (Blocks{"a\n", std::string(300, 'z')}));
  // Longer than a read (1 MiB) and than a pipe's buffer, between short ones.
  std::string big = std::string(3 << 20, 'x') + "\n";
  EXPECT_TRUE(blocks_of("s\n" + big + "t\n", spec(100)) == (Blocks{"s\n", big, "t\n"}));
  std::string fasta = ">" + std::string(100, 'A') + "\n";
  EXPECT_EQ(blocks_of(">a\n" + fasta + ">b\n", spec(5, "\n", ">")),
            (Blocks{">a\n", fasta, ">b\n"}));
  EXPECT_EQ(blocks_of(">a\n" + fasta + ">b\n", spec(5, "", ">")), (Blocks{">a\n", fasta, ">b\n"}));
}

// A record far longer than a big block is scanned once, not the whole block again on every read
// of the pipe (which took minutes here). No clock: ctest's time limit is the check.
TEST(BlockReader, ARecordManyBlocksLongIsScannedOnce) {
  std::string longer = std::string(48 << 20, 'r') + "\n";
  Blocks got = blocks_of("a\n" + longer + "b\n", spec(4 << 20));
  EXPECT_EQ(sizes(got), (std::vector<size_t>{2, longer.size(), 2}));
  got = blocks_of(">a\n>" + longer + ">b\n", spec(4 << 20, "", ">"));
  EXPECT_EQ(sizes(got), (std::vector<size_t>{3, longer.size() + 1, 3}));
}

TEST(BlockReader, RecordsGivesExactlyThatManyRecordsABlock) {
  Blocks want{"1\n2\n3\n", "4\n5\n6\n", "7\n8\n9\n", "10\n"};
  EXPECT_EQ(blocks_of(seq(1, 10), spec(1, "\n", "", 3)), want);
  EXPECT_EQ(blocks_of(seq(1, 10), spec(1 << 20, "\n", "", 3)), want);
  EXPECT_EQ(blocks_of(seq(1, 9), spec(4, "\n", "", 3)),
            (Blocks{"1\n2\n3\n", "4\n5\n6\n", "7\n8\n9\n"}));
  EXPECT_EQ(blocks_of(seq(1, 3), spec(100, "\n", "", 1)), (Blocks{"1\n", "2\n", "3\n"}));
  EXPECT_EQ(blocks_of(seq(1, 3), spec(100, "\n", "", 5)), (Blocks{seq(1, 3)}));
  // Whatever their size.
  std::string longer = std::string(300, 'y') + "\n";
  EXPECT_EQ(blocks_of("a\n" + longer + "b\n", spec(10, "\n", "", 2)),
            (Blocks{"a\n" + longer, "b\n"}));
  // An empty record is a record, first in its block too (GNU parallel adds it to the next one:
  // `printf 'a\n\nb\n' | parallel --pipe -N1 cat` gives the blocks a\n and \nb\n).
  EXPECT_EQ(blocks_of("a\n\nb\n", spec(1, "\n", "", 1)), (Blocks{"a\n", "\n", "b\n"}));
  EXPECT_EQ(blocks_of("\n\nb\n", spec(1, "\n", "", 2)), (Blocks{"\n\n", "b\n"}));
  // Other separators.
  EXPECT_EQ(blocks_of(">a\nAC\n>b\n>c\nG\n", spec(1, "", ">", 2)),
            (Blocks{">a\nAC\n>b\n", ">c\nG\n"}));
  EXPECT_EQ(blocks_of("p\n\nq\nr\n\ns\n\n", spec(1, "\n\n", "", 2)),
            (Blocks{"p\n\nq\nr\n\n", "s\n\n"}));
  // 100,000 records in blocks of 7: every block but the last holds 7 lines.
  Blocks many = blocks_of(seq(1, 100000), spec(1 << 20, "\n", "", 7));
  ASSERT_EQ(many.size(), 100000u / 7 + 1);
  for (size_t i = 0; i + 1 < many.size(); ++i) {
    EXPECT_EQ(std::count(many[i].begin(), many[i].end(), '\n'), 7) << "block " << i + 1;
  }
  EXPECT_EQ(many.back(), "99996\n99997\n99998\n99999\n100000\n");
}

// GNU parallel: --recstart alone means --recend '': a block may end right before any start.
TEST(BlockReader, RecstartAloneCutsBeforeEachStart) {
  std::string fasta = ">a\nAC\n>b\nGT\n>c\n";
  EXPECT_EQ(blocks_of(fasta, spec(1, "", ">")), (Blocks{">a\nAC\n", ">b\nGT\n", ">c\n"}));
  EXPECT_EQ(blocks_of(fasta, spec(12, "", ">")), (Blocks{">a\nAC\n>b\nGT\n", ">c\n"}));
  EXPECT_EQ(blocks_of(fasta, spec(100, "", ">")), (Blocks{fasta}));
  // A start inside a line is a start too, and what comes before the first one is a record.
  EXPECT_EQ(blocks_of(">a\nx>y\n", spec(1, "", ">")), (Blocks{">a\nx", ">y\n"}));
  EXPECT_EQ(blocks_of("junk\n>a\n", spec(1, "", ">")), (Blocks{"junk\n", ">a\n"}));
  EXPECT_EQ(blocks_of("<<r1<<r2<<<r3", spec(1, "", "<<")), (Blocks{"<<r1", "<<r2", "<", "<<r3"}));
}

TEST(BlockReader, RecstartAndRecendMustBothMatch) {
  std::string s = ">a\nx>y\n>b\n";
  EXPECT_EQ(blocks_of(s, spec(1, "\n", ">")), (Blocks{">a\nx>y\n", ">b\n"}));
  EXPECT_EQ(blocks_of(s, spec(7, "\n", ">")), (Blocks{">a\nx>y\n", ">b\n"}));
  EXPECT_EQ(blocks_of(s, spec(100, "\n", ">")), (Blocks{s}));
  EXPECT_EQ(blocks_of(">a\nb\n>c\n", spec(1, "\n", ">")), (Blocks{">a\nb\n", ">c\n"}));
  // A separator split over two writes (the trickle feed) or over a read.
  std::string many;
  for (int i = 0; i < 2000; ++i) many += "END\nSTART " + std::to_string(i) + " START\nEND ";
  Blocks got = blocks_of(many, spec(1, "END\n", "START"));
  ASSERT_EQ(got.size(), 2001u);
  EXPECT_EQ(got[0], "END\n");
  EXPECT_EQ(got[1], "START 0 START\nEND END\n");
  EXPECT_EQ(got[2000], "START 1999 START\nEND ");
}

TEST(BlockReader, EmptyRecendCutsAnywhereInExactBlocks) {
  EXPECT_EQ(blocks_of("abcdefghij", spec(3, "")), (Blocks{"abc", "def", "ghi", "j"}));
  EXPECT_EQ(blocks_of("a\nb\nc\n", spec(1, "")), (Blocks{"a", "\n", "b", "\n", "c", "\n"}));
  std::mt19937 random(7);
  std::string binary(1000000, '\0');
  for (auto& c : binary) c = static_cast<char>(random());
  std::vector<size_t> want(244, 4096);
  want.push_back(1000000 - 244 * 4096);
  EXPECT_EQ(sizes(blocks_of(binary, spec(4096, ""))), want);
  EXPECT_EQ(sizes(blocks_of(binary, spec(1 << 20, ""))), (std::vector<size_t>{1000000}));
}

TEST(BlockReader, TheLastRecordNeedNotEndWithTheSeparator) {
  EXPECT_EQ(blocks_of("1\n2\n3", spec(4)), (Blocks{"1\n2\n", "3"}));
  EXPECT_EQ(blocks_of("1\n2\n3", spec(100)), (Blocks{"1\n2\n3"}));
  EXPECT_EQ(blocks_of("only", spec(2)), (Blocks{"only"}));
  EXPECT_EQ(blocks_of("1\n2\n3", spec(100, "\n", "", 2)), (Blocks{"1\n2\n", "3"}));
  EXPECT_EQ(blocks_of("a\n\nb\n\nc", spec(1, "\n\n")), (Blocks{"a\n\n", "b\n\n", "c"}));
  EXPECT_EQ(blocks_of("a\n\nb\n", spec(1, "\n\n")), (Blocks{"a\n\n", "b\n"}));
  // GNU parallel cuts after the first \n\n of \n\n\n: the \n left over starts the next record.
  EXPECT_EQ(blocks_of("a\n\nb\nc\n\n\nd", spec(1, "\n\n")), (Blocks{"a\n\n", "b\nc\n\n", "\nd"}));
}

TEST(BlockReader, EmptyInputHasNoBlock) {
  for (const BlockSpec& s : {spec(1), spec(1 << 20), spec(3, ""), spec(1, "", ">"),
                             spec(1, "\n", ">"), spec(1, "\n", "", 2)}) {
    EXPECT_EQ(blocks_of("", s), Blocks{});
  }
}

// Blocks from a pipe fed in small pieces are those of a file, on bigger and odder input too:
// binary records, long ones, empty ones, a multi-byte separator.
TEST(BlockReader, SmallWritesGiveTheSameBlocksAsOneWrite) {
  std::string input;
  for (int i = 0; i < 3000; ++i) {
    input += std::to_string(i) + (i % 7 == 0 ? std::string(i * 3, 'q') : "") + "\n";
    if (i % 11 == 0) input += "\n";
    if (i % 13 == 0) input += std::string("\0\xff\xfe>\n", 5);
  }
  for (size_t block : {1, 2, 10, 1000, 65536}) {
    blocks_of(input, spec(block));
    blocks_of(input, spec(block, "\n\n"));
    blocks_of(input, spec(block, "", ">"));
    blocks_of(input, spec(block, "\n", ">"));
    blocks_of(input, spec(block, std::string(1, '\0')));
    if (block >= 10) blocks_of(input, spec(block, ""));  // not a million blocks of a byte
    blocks_of(input, spec(block, "\n", "", 5));
  }
}

// A record that never ends is an input error once it passes kMaxBlockBytes, instead of memory
// without bound. Read from a sparse file, which costs no disk.
TEST(BlockReader, ARecordPastTheLargestBlockIsAnInputError) {
#ifdef PROCPOOL_SANITIZED
  GTEST_SKIP() << "a GiB in memory under the sanitizer";
#endif
  TempDir dir;
  std::string path = dir.path() + "/zeros";
  {
    Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
    ASSERT_TRUE(fd.valid());
    ASSERT_EQ(::ftruncate(fd.get(), static_cast<off_t>(kMaxBlockBytes + (4 << 20))), 0);
  }
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  BlockReader reader(std::move(fd), spec(1 << 20));
  std::string block;
  try {
    reader.fetch(block);
    ADD_FAILURE() << "a block of " << block.size() << " bytes";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("--recend"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("block 1"), std::string::npos) << e.what();
  }
}

TEST(BlockReader, SeparatorEscapesAreGnuParallels) {
  EXPECT_EQ(decode_record_separator("\\n"), "\n");
  EXPECT_EQ(decode_record_separator("\\t"), "\t");
  EXPECT_EQ(decode_record_separator("\\r"), "\r");
  EXPECT_EQ(decode_record_separator("\\0"), std::string(1, '\0'));
  EXPECT_EQ(decode_record_separator("a\\0b"), std::string("a\0b", 3));
  EXPECT_EQ(decode_record_separator("\\012"), std::string("\0"
                                                          "12",
                                                          3))
      << "no octal";
  EXPECT_EQ(decode_record_separator("\\\\"), "\\");
  EXPECT_EQ(decode_record_separator("\\\\n"), "\\n");
  EXPECT_EQ(decode_record_separator("\\'"), "'");
  EXPECT_EQ(decode_record_separator("\\\""), "\"");
  EXPECT_EQ(decode_record_separator("\\n\\n"), "\n\n");
  EXPECT_EQ(decode_record_separator("</rec>\\n"), "</rec>\n");
  // \xHH: procpool's own (GNU parallel keeps it as typed).
  EXPECT_EQ(decode_record_separator("\\x41\\x0a"), "A\n");
  EXPECT_EQ(decode_record_separator("\\xfF"), "\xff");
  EXPECT_EQ(decode_record_separator("\\xZZ"), "\\xZZ");
  EXPECT_EQ(decode_record_separator("\\x4"), "\\x4");
  EXPECT_EQ(decode_record_separator("\\x"), "\\x");
  // Anything else as typed.
  EXPECT_EQ(decode_record_separator("\\q"), "\\q");
  EXPECT_EQ(decode_record_separator("\\s+"), "\\s+");
  EXPECT_EQ(decode_record_separator("end\\"), "end\\");
  EXPECT_EQ(decode_record_separator(">"), ">");
  EXPECT_EQ(decode_record_separator(""), "");
}

// ---- procpool map --pipe, end to end -------------------------------------------------------

Words join(Words head, const Words& tail) {
  head.insert(head.end(), tail.begin(), tail.end());
  return head;
}

class PipeRun : public ::testing::Test {
 protected:
  // `procpool map WORDS` in the test's folder with `input` on stdin.
  RunOutput map(const Words& words, const std::string& input = "") {
    return run_bounded(join({procpool_bin(), "map"}, words), input, dir_.path());
  }
  std::string path(const std::string& name) const { return dir_.path() + "/" + name; }

  TempDir dir_;
};

// Bytes that trip up text handling: NULs, invalid UTF-8, CR, empty lines, 100 KB lines, no
// newline at the end.
std::string hostile_bytes() {
  std::string s;
  for (int i = 0; i < 400; ++i) {
    s += "line " + std::to_string(i) + " it's $HOME `x` \"q\" -k --\n";
    if (i % 9 == 0) s += "\n\n";
    if (i % 10 == 0) s += std::string("nul\0byte\0\n", 10);
    if (i % 11 == 0) s += "bad utf-8 \xff\xfe\xc3\x28 \xed\xa0\x80\r\n";
    if (i % 100 == 0) s += std::string(100000, static_cast<char>('a' + i / 100)) + "\n";
  }
  return s + "no newline at the end";
}

TEST_F(PipeRun, TheJobsStdinTogetherIsTheInputByteForByte) {
  std::string text = seq(1, 20000);
  std::string binary = hostile_bytes();
  for (const Words& flags : std::vector<Words>{{"--block", "1k"},
                                               {"--block", "64k", "-j3"},
                                               {"-j2"},
                                               {"-N", "7"},
                                               {"--recend", "", "--block", "1000"},
                                               {"--recend", "\\0", "--block", "100"},
                                               {"--recstart", "l", "--block", "300"}}) {
    std::string shown;
    for (const auto& f : flags) shown += " [" + f + "]";
    for (const std::string* input : {&text, &binary}) {
      RunOutput r = map(join({"--pipe", "-q", "-k"}, join(flags, {"cat"})), *input);
      EXPECT_EQ(r.exit_status, 0) << shown << ": " << r.err.substr(0, 2000);
      EXPECT_TRUE(r.out == *input)
          << shown << ": " << r.out.size() << " bytes out of " << input->size();
    }
  }
}

// stdin a regular file (read without polling), the same blocks.
TEST_F(PipeRun, StdinMayBeAFile) {
  std::string binary = hostile_bytes();
  std::string file = dir_.write("input", binary);
  for (const std::string flags : {"--block 1k", "-N 3", "--recend '' --block 999"}) {
    RunOutput r = run_bounded(
        {"/bin/sh", "-c", procpool_bin() + " map --pipe -q -k -j3 " + flags + " cat < " + file}, "",
        dir_.path());
    EXPECT_EQ(r.exit_status, 0) << flags << ": " << r.err.substr(0, 2000);
    EXPECT_TRUE(r.out == binary) << flags << ": " << r.out.size() << " bytes of " << binary.size();
  }
}

// Each job's stdin is a whole number of records, in input order by {#}.
TEST_F(PipeRun, EachJobGetsWholeRecords) {
  std::string input;
  for (int i = 0; i < 5000; ++i)
    input += "record " + std::to_string(i) + (i % 3 ? "" : " x") + "\n";
  RunOutput r = map({"--pipe", "-q", "-j3", "--block", "1k", "cat > " + path("block.{#}")}, input);
  ASSERT_EQ(r.exit_status, 0) << r.err;
  std::string all;
  size_t n = 0;
  for (; file_exists(path("block." + std::to_string(n + 1))); ++n) {
    std::string b = slurp(path("block." + std::to_string(n + 1)));
    EXPECT_FALSE(b.empty()) << "block " << n + 1;
    EXPECT_LE(b.size(), 1024u) << "block " << n + 1;
    EXPECT_EQ(b.rfind("record ", 0), 0u) << "block " << n + 1 << " starts mid-record";
    EXPECT_EQ(b.back(), '\n') << "block " << n + 1 << " ends mid-record";
    all += b;
  }
  EXPECT_GT(n, 50u);
  EXPECT_TRUE(all == input) << "blocks in {#} order are not the input";
}

// -k prints the blocks in order though they finish in reverse: job N waits for job N+1's mark.
TEST_F(PipeRun, KeepOrderHoldsWhileBlocksFinishOutOfOrder) {
  std::string wait = "n={#}; i=0; if [ $n -lt 4 ]; then while [ ! -e " + path("done.") +
                     "$((n+1)) ]; do i=$((i+1)); if [ $i -gt 2000 ]; then echo gave up >&2; "
                     "exit 9; fi; sleep 0.01; done; fi; cat; touch " +
                     path("done.") + "$n";
  std::string input = "a\nb\nc\nd\n";
  RunOutput r = map({"--pipe", "-q", "-k", "-j4", "-N1", wait}, input);
  EXPECT_EQ(r.exit_status, 0) << r.err;
  EXPECT_EQ(r.out, input);
  for (int i = 1; i <= 4; ++i) {
    EXPECT_TRUE(file_exists(path("done." + std::to_string(i))));
    fs::remove(path("done." + std::to_string(i)));
  }
  // Without -k in whatever order they finished (mostly d c b a).
  r = map({"--pipe", "-q", "-j4", "-N1", wait}, input);
  EXPECT_EQ(r.exit_status, 0) << r.err;
  Words got = lines(r.out);
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (Words{"a", "b", "c", "d"}));
}

// A job that reads none of its stdin, or only some, neither hangs nor stops the others.
TEST_F(PipeRun, AJobThatDoesNotReadItsStdinDoesNotHang) {
  std::string input;
  for (int i = 0; i < 200000; ++i) input += "some record number " + std::to_string(i) + "\n";
  RunOutput r = map({"--pipe", "-q", "-j2", "--block", "100k", "true"}, input);
  EXPECT_EQ(r.exit_status, 0) << r.err;
  EXPECT_EQ(r.out, "");
  r = map({"--pipe", "-q", "-j2", "-k", "--block", "100k", "head -n 1"}, input);
  EXPECT_EQ(r.exit_status, 0) << r.err;
  for (const auto& line : lines(r.out)) EXPECT_EQ(line.rfind("some record number ", 0), 0u);
  EXPECT_GT(lines(r.out).size(), 30u);
  std::string tens = seq(1, 100);
  r = map(
      {"--pipe", "-q", "-j3", "-k", "-N1", "if [ $(({#} % 2)) -eq 0 ]; then true; else cat; fi"},
      tens);
  EXPECT_EQ(r.exit_status, 0) << r.err;
  std::string odd;
  for (int i = 1; i <= 100; i += 2) odd += std::to_string(i) + "\n";
  EXPECT_EQ(r.out, odd);
}

TEST_F(PipeRun, AFailingBlockFailsOnlyItsJob) {
  RunOutput r =
      map({"--pipe", "-k", "-N1", "read x; if [ \"$x\" = 3 ]; then exit 7; fi; echo ok $x"},
          "1\n2\n3\n4\n5\n");
  EXPECT_EQ(r.exit_status, 1) << r.err;
  EXPECT_EQ(r.out, "ok 1\nok 2\nok 4\nok 5\n");
  EXPECT_NE(r.err.find("block 3"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("exit 7"), std::string::npos) << r.err;
}

// A retry reads its block again from the start, whole, however much the failed attempt read.
TEST_F(PipeRun, ARetryGetsTheWholeBlockAgain) {
  std::string input = seq(1, 30000);
  for (const std::string first : {"head -c 5 >/dev/null", "cat >/dev/null", "true"}) {
    fs::remove_all(path("tried"));
    fs::create_directory(path("tried"));
    std::string mark = path("tried/") + "{#}";
    RunOutput r = map(
        {"--pipe", "-q", "-k", "-j2", "--block", "10k", "--retries", "1",
         "if [ -e " + mark + " ]; then cat; else touch " + mark + "; " + first + "; exit 1; fi"},
        input);
    EXPECT_EQ(r.exit_status, 0) << first << ": " << r.err.substr(0, 2000);
    EXPECT_TRUE(r.out == input) << first << ": " << r.out.size() << " bytes of " << input.size();
    size_t tried = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(path("tried"))) ++tried;
    EXPECT_GT(tried, 10u) << first;
  }
}

TEST_F(PipeRun, JobsWithoutPipeReadDevNull) {
  RunOutput r = map({"-k", "cat; echo {}", ":::", "x", "y"}, "stdin data\n");
  EXPECT_EQ(r.exit_status, 0) << r.err;
  EXPECT_EQ(r.out, "x\ny\n");
  // Inputs read from stdin: the jobs still get none of it.
  r = map({"-k", "cat; echo {}"}, "a\nb\n");
  EXPECT_EQ(r.exit_status, 0) << r.err;
  EXPECT_EQ(r.out, "a\nb\n");
}

TEST_F(PipeRun, FlagsThatDoNotGoWithPipeExitTwoAndRunNothing) {
  std::string list = dir_.write("list", "a\n");
  for (const Words& words : std::vector<Words>{
           {"--pipe", "touch ran", ":::", "x"},
           {"--pipe", "touch ran", "::::", list},
           {"--pipe", "-a", list, "touch ran"},
           {"--pipe", "-X", "touch ran"},
           {"--pipe", "-m", "touch ran"},
           {"--pipe", "-n", "2", "touch ran"},
           {"--pipe", "-L", "1", "touch ran"},
           {"--pipe", "--colsep", ",", "touch ran"},
           {"--pipe", "--header", ":", "touch ran"},
           {"--pipe", "-0", "touch ran"},
           {"--pipe", "--shuf", "touch ran"},
           {"--pipe", "--block", "0", "touch ran"},
           {"--pipe", "--block", "2G", "touch ran"},
           {"--pipe", "--block", "lots", "touch ran"},
           {"--pipe", "-N", "0", "touch ran"},
           {"--pipe", "-N", "x", "touch ran"},
           {"--block", "1k", "touch ran", ":::", "x"},
           {"--recend", "x", "touch ran", ":::", "x"},
           {"--recstart", ">", "touch ran", ":::", "x"},
       }) {
    std::string shown;
    for (const auto& w : words) shown += " [" + w + "]";
    RunOutput r = map(words, "a\nb\n");
    EXPECT_EQ(r.exit_status, 2) << shown << ": " << r.err;
    EXPECT_FALSE(r.err.empty()) << shown;
    EXPECT_FALSE(file_exists(path("ran"))) << shown;
    fs::remove(path("ran"));
  }
}

TEST_F(PipeRun, EmptyStdinRunsNoJob) {
  for (const Words& flags :
       std::vector<Words>{{}, {"-N", "2"}, {"--recend", ""}, {"--recstart", ">"}}) {
    RunOutput r = map(join(join({"--pipe"}, flags), {"touch ran; echo ran"}), "");
    EXPECT_EQ(r.exit_status, 0) << r.err;
    EXPECT_EQ(r.out, "");
    EXPECT_FALSE(file_exists(path("ran")));
  }
}

// The command is the template as typed, no " {}" appended: in --dry-run, the job log, --quote.
TEST_F(PipeRun, TheCommandIsTheTemplateAsTyped) {
  RunOutput r = map({"--pipe", "-N2", "--dry-run", "wc -l"}, seq(1, 5));
  EXPECT_EQ(r.exit_status, 0) << r.err;
  EXPECT_EQ(r.out, "wc -l\nwc -l\nwc -l\n");
  r = map({"--pipe", "-q", "-N1", "--joblog", path("log"), "echo x"}, "a\n");
  EXPECT_EQ(r.exit_status, 0) << r.err;
  Words logged = lines(slurp(path("log")));
  ASSERT_EQ(logged.size(), 2u);
  EXPECT_EQ(logged[1].substr(logged[1].rfind('\t') + 1), "echo x");
  r = map({"--pipe", "-q", "--quote", "printf", "[%s]", "a"}, "x\n");
  EXPECT_EQ(r.exit_status, 0) << r.err;
  EXPECT_EQ(r.out, "[a]") << "an empty argument was appended";
}

// ---- GNU parallel side by side -------------------------------------------------------------

// Differences by design, left out here: GNU parallel grows --block for good (by 1.3 times) when
// a record is longer than it, where procpool makes that record a block of its own; with -N it
// adds an empty record that would start a block to the record after it; it keeps \xHH in
// --recend/--recstart as typed; and its --dry-run numbers {%} its own way.
class GnuPipe : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!have_gnu_parallel())
      GTEST_SKIP() << "GNU parallel is not installed (apt install parallel)";
  }

  // `parallel --pipe -k WORDS` and `procpool map --pipe -k -q WORDS` (-q: procpool's --quiet,
  // GNU parallel's is --quote) with the same stdin: the same stdout, and both succeed.
  void same(const Words& words, const std::string& input) {
    RunOutput ours =
        run_bounded(join({procpool_bin(), "map", "--pipe", "-k", "-q"}, words), input, dir_.path());
    // PARALLEL_SHELL pins /bin/sh, the shell procpool's workers use.
    RunOutput gnu = run_bounded(
        join({"env", "PARALLEL_SHELL=/bin/sh", "parallel", "--will-cite", "--pipe", "-k"}, words),
        input, dir_.path());
    EXPECT_EQ(gnu.err, "") << "GNU parallel warned (a record longer than the block?)";
    expect_same_stdout(ours, gnu, words);
  }

  TempDir dir_;
};

const char* kMarked = "echo \"<{#}>\"; cat; echo \"</{#}>\"";  // each block, where it ends

TEST_F(GnuPipe, BlockSizes) {
  std::string input = seq(1, 1000);
  for (const std::string block : {"50", "1k", "1K", "4000"}) {
    same({"--block", block, "wc -c"}, input);
    same({"--block", block, "wc -l"}, input);
    same({"--block-size", block, "echo {#}; cat"}, input);
  }
  same({"wc -c"}, seq(1, 500000));  // 3.4 MB in blocks of the default 1M
  same({"-j3", "--block", "100k", "wc -l"}, seq(1, 500000));
  same({"--recend", "", "--block", "37", kMarked}, input);
  same({"--block", "100", "--dry-run", "wc -l"}, input);
}

TEST_F(GnuPipe, RecordsABlock) {
  same({"-N", "1", "wc -l"}, seq(1, 100));
  same({"-N1", "echo {#}; cat"}, seq(1, 100));
  for (const std::string n : {"3", "100"}) {
    same({"-N", n, "wc -l"}, seq(1, 1000));
    same({"-N" + n, "echo {#}; cat"}, seq(1, 1000));
  }
  same({"-N", "2", "--recend", "\\n\\n", kMarked}, "a\n\nb\nc\n\nd\n\ne\n\nf");
}

TEST_F(GnuPipe, RecordStartsAndEnds) {
  std::string fasta;
  for (int i = 0; i < 300; ++i) {
    fasta += ">seq" + std::to_string(i) + " some name\nACGT" + std::to_string(i) + "\nTT" +
             (i % 5 ? "" : "G>A") + "GA\n";
  }
  for (const std::string block : {"100", "1k"}) {
    same({"--recstart", ">", "--block", block, kMarked}, fasta);
    same({"--recstart", ">", "--recend", "\\n", "--block", block, kMarked}, fasta);
  }
  same({"--recstart", ">", "-N", "3", kMarked}, fasta);
  same({"--recstart", ">", "--recend", "\\n", "-N", "4", "wc -l"}, fasta);
  same({"--recstart", ">", "--block", "100", kMarked}, "junk before\n" + fasta);
  std::string paragraphs;
  for (int i = 0; i < 300; ++i) {
    paragraphs += "para " + std::to_string(i) + "\nline\n" + (i % 7 ? "" : "\n") + "\n";
  }
  for (const std::string block : {"30", "100", "1k"}) {
    same({"--recend", "\\n\\n", "--block", block, kMarked}, paragraphs);
  }
  same({"--recend", "\\n\\n", "-N", "2", "wc -c"}, paragraphs);
  std::string nul;
  for (int i = 0; i < 300; ++i) nul += "rec " + std::to_string(i) + std::string(1, '\0');
  same({"--recend", "\\0", "--block", "64", "od -An -c"}, nul);
  same({"--recend", "</r>\\n", "--recstart", "<r>", "--block", "30", kMarked},
       "<r>a</r>\n<r>b</r>\n<r></r>\n</r>\n<r>c</r>\n<r>d");
}

TEST_F(GnuPipe, HostileBytes) {
  Words values = hostile_values();
  values.insert(values.end(), {"\r", "\xc3\x28 bad"});
  std::string input;
  for (int i = 0; i < 40; ++i) {
    for (const auto& v : values) input += v + "\n";
  }
  for (const std::string block : {"100", "1k"}) {
    same({"--block", block, kMarked}, input);
    same({"--block", block, "wc -c"}, input);
  }
  // -N: no empty lines, which GNU parallel counts its own way (see BlockReader.Records...).
  std::string full;
  for (const auto& line : lines(input)) {
    if (!line.empty()) full += line + "\n";
  }
  same({"-N", "5", kMarked}, full);
  std::string big = std::string(100000, 'x') + "\n";
  same({"wc -c"}, "short\n" + big + input + big + "end");
  same({"-N", "1", "wc -c"}, "short\n" + big + big + "end");
  same({kMarked}, "short\n" + big + input + big + "end");
  for (const auto& e : fs::directory_iterator(dir_.path())) {
    EXPECT_NE(e.path().filename().string().rfind("pwned", 0), 0u)
        << "an input ran a command: " << e.path();
  }
}

// ---- memory --------------------------------------------------------------------------------

// 1 GiB through `wc -c`: every byte reaches a job, and procpool holds a few blocks at a time.
TEST(PipeMemory, AGibibyteStaysInFlatMemory) {
  if (!file_exists("/usr/bin/time")) GTEST_SKIP() << "/usr/bin/time is missing (apt install time)";
  TempDir dir;
  std::string rss = dir.path() + "/rss";
  std::string line(99, 'x');
  std::string script = "yes " + line + " | head -c 1073741824 | /usr/bin/time -f %M -o " + rss +
                       " timeout -s KILL " + kRunLimit + " " + procpool_bin() +
                       " map --pipe -q 'wc -c'";
  RunOutput r = run_program({"/bin/sh", "-c", script});
  ASSERT_EQ(r.exit_status, 0) << r.err.substr(0, 2000);
  uint64_t total = 0;
  size_t jobs = 0;
  for (const auto& n : lines(r.out)) {
    total += std::stoull(n);
    ++jobs;
  }
  EXPECT_EQ(total, uint64_t{1} << 30);
  EXPECT_GE(jobs, 1024u) << "blocks of at most 1 MiB";
  long kib = std::atol(slurp(rss).c_str());
  ASSERT_GT(kib, 0) << slurp(rss);
#ifndef PROCPOOL_SANITIZED
  EXPECT_LT(kib, 64 * 1024) << "peak RSS " << kib << " KiB";
#endif
}

// ---- {%} -------------------------------------------------------------------------------------

// The pool fills {%} in when a worker takes the job, so it is a number inside quotes too.
TEST(SlotNumber, IsANumberInsideSingleQuotes) {
  TempDir dir;
  RunOutput r = run_bounded({procpool_bin(), "map", "-q", "-j2", "-k", "echo '{%}' \"{%}\" {%}",
                             ":::", "a", "b", "c", "d", "e"},
                            "", dir.path());
  ASSERT_EQ(r.exit_status, 0) << r.err;
  ASSERT_EQ(lines(r.out).size(), 5u) << r.out;
  for (const auto& line : lines(r.out)) {
    EXPECT_TRUE(line == "1 1 1" || line == "2 2 2") << line;
  }
  r = run_bounded({procpool_bin(), "map", "--pipe", "-q", "-j2", "-k", "-N1", "echo '{%}'; cat"},
                  "x\ny\nz\n", dir.path());
  ASSERT_EQ(r.exit_status, 0) << r.err;
  Words got = lines(r.out);
  ASSERT_EQ(got.size(), 6u) << r.out;
  for (size_t i = 0; i < got.size(); i += 2) {
    EXPECT_TRUE(got[i] == "1" || got[i] == "2") << got[i];
    EXPECT_EQ(got[i + 1], std::string(1, "xyz"[i / 2]));
  }
}

TEST(SlotNumber, DryRunShowsTheSlotEachJobWouldGet) {
  TempDir dir;
  RunOutput r =
      run_bounded({procpool_bin(), "map", "-j2", "--dry-run", "echo '{%}'", ":::", "a", "b", "c"},
                  "", dir.path());
  EXPECT_EQ(r.exit_status, 0) << r.err;
  EXPECT_EQ(r.out, "echo '1'\necho '2'\necho '1'\n");
  r = run_bounded(
      {procpool_bin(), "map", "-j3", "--dry-run", "echo {%}-{#}", ":::", "a", "b", "c", "d"}, "",
      dir.path());
  EXPECT_EQ(r.out, "echo 1-1\necho 2-2\necho 3-3\necho 1-4\n");
  // With one slot GNU parallel's --dry-run agrees (with more it numbers them its own way).
  if (!have_gnu_parallel()) GTEST_SKIP() << "GNU parallel is not installed (apt install parallel)";
  Words words{"-j1", "--dry-run", "echo '{%}' {%} {#}", ":::", "a", "b", "c"};
  RunOutput gnu = run_bounded(join({"parallel", "--will-cite", "-k"}, words), "", dir.path());
  RunOutput ours = run_bounded(join({procpool_bin(), "map"}, words), "", dir.path());
  EXPECT_EQ(gnu.out, "echo '1' 1 1\necho '1' 1 2\necho '1' 1 3\n");
  EXPECT_EQ(ours.out, gnu.out);
}

}  // namespace
}  // namespace procpool::testing
