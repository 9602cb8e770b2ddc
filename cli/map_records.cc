#include "cli/map_records.h"

#include <poll.h>

#include <algorithm>
#include <cerrno>

#include <fmt/format.h>

#include "cli/columns.h"
#include "common/fd.h"
#include "common/job_file.h"

namespace procpool {

namespace {

// Perl's \s, which ends a continued line for GNU parallel's -L.
bool is_perl_space(char c) {
  return c == ' ' || (c >= '\t' && c <= '\r');
}

}  // namespace

RecordStream::RecordStream(std::vector<std::string> args, RecordRules rules)
    : rules_(rules), name_("the ::: arguments"), args_(std::move(args)) {}

RecordStream::RecordStream(Fd fd, std::string name, RecordRules rules)
    : rules_(rules), name_(std::move(name)) {
  reader_.emplace(std::move(fd), rules_.sep);
}

Fetched RecordStream::raw(std::string& piece) {
  if (eof_seen_) return Fetched::kEnd;
  if (reader_) {
    Fetched got = reader_->fetch(piece);
    if (got != Fetched::kJob) return got;
  } else if (next_arg_ >= args_.size()) {
    return Fetched::kEnd;
  } else {
    piece = std::move(args_[next_arg_++]);
  }
  if (rules_.eof && piece == *rules_.eof) {
    eof_seen_ = true;
    return Fetched::kEnd;
  }
  return Fetched::kJob;
}

void RecordStream::check_size(const std::string& partial) const {
  if (partial.size() <= kMaxRecordBytes) return;
  throw InputError(fmt::format(
      "procpool map: {}, record {}: {} goes past {} KiB: no command can hold it", name_, count_ + 1,
      in_csv_ ? "a quoted CSV field that is not closed" : "a line continued by trailing blanks",
      kMaxRecordBytes >> 10));
}

Fetched RecordStream::fetch(std::string& record) {
  for (;;) {
    std::string piece;
    Fetched got = raw(piece);
    if (got == Fetched::kBlocked) return got;
    if (got == Fetched::kEnd) {
      if (in_csv_) {
        throw InputError(fmt::format(
            "procpool map: --csv: {}, record {}: a quoted field is not closed at the end of the "
            "input (a '\"' is missing)",
            name_, count_ + 1));
      }
      if (!in_continued_) return Fetched::kEnd;
      in_continued_ = false;  // the last line ended in a blank: it is a record all the same
      record = std::move(continued_);
      continued_.clear();
      ++count_;
      return Fetched::kJob;
    }
    if (rules_.csv) {
      // A line break inside quotes belongs to the field: the record goes on.
      // Inside quotes or not is the parity of the quotes so far, counted once per line.
      bool was_inside = in_csv_;
      in_csv_ = was_inside != csv_inside_quotes(piece);
      if (was_inside) {
        csv_partial_ += rules_.sep;
        csv_partial_ += piece;
        piece = std::move(csv_partial_);
        csv_partial_.clear();
      }
      if (in_csv_) {
        csv_partial_ = std::move(piece);
        check_size(csv_partial_);
        continue;
      }
    }
    if (rules_.continue_lines) {
      if (in_continued_) piece = std::move(continued_) + piece;
      in_continued_ = !piece.empty() && is_perl_space(piece.back());
      if (in_continued_) {
        continued_ = std::move(piece);
        check_size(continued_);
        continue;
      }
      continued_.clear();
    }
    if (rules_.skip_blank && std::all_of(piece.begin(), piece.end(), is_perl_space)) continue;
    record = std::move(piece);
    ++count_;
    return Fetched::kJob;
  }
}

std::optional<std::string> RecordStream::next() {
  std::string record;
  if (!fetch_waiting([this](std::string& r) { return fetch(r); }, [this] { return fd(); },
                     record)) {
    return std::nullopt;
  }
  return record;
}

}  // namespace procpool
