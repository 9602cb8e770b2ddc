#include "cli/line_writer.h"

#include <unistd.h>

#include "common/fd.h"
#include "common/log.h"
#include "common/visible_text.h"

namespace procpool {

std::mutex& output_mutex() {
  static std::mutex mu;
  return mu;
}

bool write_prefixed(int fd, std::string_view prefix, std::string_view bytes, bool& at_line_start) {
  if (prefix.empty()) return write_all(fd, bytes);
  std::string out;
  out.reserve(bytes.size() + prefix.size() * 4);
  for (char c : bytes) {
    if (at_line_start) out.append(prefix);
    out.push_back(c);
    at_line_start = c == '\n';
  }
  return write_all(fd, out);
}

namespace {
constexpr size_t kLinePiece = 64u << 10;  // the longest line --line-buffer holds back
int fd_of(Stream s) {
  return s == Stream::kStdout ? STDOUT_FILENO : STDERR_FILENO;
}
}  // namespace

LiveLines::LiveLines(bool tag, CiStyle ci, bool job_commands, bool keep_order)
    : tag_(tag), ci_(ci), job_commands_(job_commands), keep_order_(keep_order) {
  if (ci_ == CiStyle::kGithub && !job_commands_) stop_token_ = stop_commands_token();
}

bool LiveLines::write_line(std::string_view name, Stream s, std::string_view line) {
  std::string text;
  if (!stop_token_.empty() && !stopped_) {
    text = "::stop-commands::" + stop_token_ + "\n";
    stopped_ = true;  // under mu_, which every caller holds
  }
  if (tag_) {
    append_visible(text, name);  // a name holding a newline or ESC cannot break the line
    text += '\t';
  }
  bool folding = ci_ != CiStyle::kPlain;
  if (folding && !job_commands_) {
    JobMarkerFilter markers(ci_);  // a line at a time: whole lines cannot hide a marker
    text += markers.feed(line);
    text += markers.flush();
  } else {
    text.append(line);
  }
  // The next line, maybe another job's, starts a line of its own.
  if (folding && (text.empty() || text.back() != '\n')) text += '\n';
  std::lock_guard lock(output_mutex());
  try {
    return write_all(folding ? STDOUT_FILENO : fd_of(s), text);
  } catch (const std::exception&) {
    // A full disk behind a redirection, a terminal gone: as good as a reader gone. This runs on
    // the pool's thread, which must never be stopped by our own output.
    return false;
  }
}

void LiveLines::add(const Job& job, Stream s, std::string_view bytes) {
  std::lock_guard lock(mu_);
  if (keep_order_ && job.id != live_id_) {
    // Not its turn yet: kept, both streams in arrival order, until it is (or until it ends).
    Held& held = held_[job.id];
    if (held.name.empty()) held.name = job.name;
    held.bytes.append(s, bytes);  // a failure is kept in the Output, reported when printed
    return;
  }
  print(job.id, job.name, s, bytes);
}

void LiveLines::print(uint64_t id, std::string_view name, Stream s, std::string_view bytes) {
  std::string& part = partial_[{id, static_cast<int>(s)}];
  size_t start = 0;
  for (size_t nl = bytes.find('\n'); nl != std::string_view::npos; nl = bytes.find('\n', start)) {
    std::string line = std::move(part);
    part.clear();
    line.append(bytes.substr(start, nl + 1 - start));
    if (!write_line(name, s, line)) reader_left_ = true;
    start = nl + 1;
  }
  part.append(bytes.substr(start));
  // A line that never ends (a progress bar redrawn with CR, minified JSON) is printed in pieces,
  // each ended by a newline of ours so no other job's line joins it: memory stays bounded.
  while (part.size() >= kLinePiece) {
    size_t cut = kLinePiece;
    for (int back = 0; back < 3 && (static_cast<unsigned char>(part[cut]) & 0xC0) == 0x80; ++back) {
      --cut;  // not inside a UTF-8 character
    }
    std::string piece = part.substr(0, cut) + '\n';
    part.erase(0, cut);
    if (!write_line(name, s, piece)) reader_left_ = true;
  }
  if (part.empty()) std::string().swap(part);
}

void LiveLines::print_held(uint64_t id) {
  auto it = held_.find(id);
  if (it == held_.end()) return;
  Held held = std::move(it->second);
  held_.erase(it);
  if (!held.bytes.failure().empty()) {
    log::warn("job '{}': {} bytes of its output were lost while it waited for its turn (-k): {}",
              visible(held.name), held.bytes.dropped(), held.bytes.failure());
  }
  // As if they arrived now: the same lines, pieces and partial line as live output.
  held.bytes.for_each([&](Stream s, std::string_view bytes) {
    if (!reader_left_) print(id, held.name, s, bytes);
  });
}

std::string LiveLines::end_of_stopped_commands() {
  std::lock_guard lock(mu_);
  if (!stopped_) return "";
  stopped_ = false;
  return "::" + stop_token_ + "::\n";
}

void LiveLines::finish(const Job& job, bool show_held) {
  std::lock_guard lock(mu_);
  if (show_held) {
    print_held(job.id);  // -k: it ended before its turn came
  } else {
    held_.erase(job.id);
  }
  for (int s : {1, 2}) {
    auto it = partial_.find({job.id, s});
    if (it == partial_.end()) continue;
    if (!it->second.empty() && !write_line(job.name, static_cast<Stream>(s), it->second)) {
      reader_left_ = true;
    }
    partial_.erase(it);
  }
}

void LiveLines::reported(const Job& job) {
  if (!keep_order_) return;
  std::lock_guard lock(mu_);
  if (halted_ || job.id < live_id_) return;  // halted, or an earlier job went first
  live_id_ = job.id + 1;
  // What the next job printed so far comes out now, before anything it prints next (add()
  // waits for mu_), whether it still runs or has ended. A job a halt stopped is not among them:
  // halted() came before the halt stopped it, and from then on finish() decides.
  print_held(live_id_);
}

void LiveLines::halted() {
  std::lock_guard lock(mu_);
  halted_ = true;
}

}  // namespace procpool
