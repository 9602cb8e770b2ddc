// The CI log as a CI shows it: read the way a runner reads procpool's two pipes, then
// interpreted the way GitHub and GitLab interpret it (groups, sections, workflow commands,
// annotations), with hostile job output and jobs that fail every way there is.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <random>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "tests/support/e2e.h"

extern char** environ;

namespace procpool::testing {
namespace {

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.rfind(prefix, 0) == 0;
}

bool contains(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

// procpool run with `args`, outside any CI (the style is the flags' alone), plus `env`.
std::vector<std::string> procpool_argv(const std::vector<std::string>& env,
                                       const std::vector<std::string>& args) {
  std::vector<std::string> argv{"env",       "-u", "GITHUB_ACTIONS",     "-u",
                                "GITLAB_CI", "-u", "GITHUB_STEP_SUMMARY"};
  argv.insert(argv.end(), env.begin(), env.end());
  argv.push_back(procpool_bin());
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

// The log a CI runner makes of a program's two pipes, modelled on actions/runner's
// ProcessInvoker: a reader per pipe queues whole lines; the log writer, at each wake-up,
// writes every queued stderr line, then every queued stdout line. Its wake-ups come at most
// every few milliseconds, as a busy runner's do: lines from the two pipes that arrive close
// together are reordered, lines from one pipe never are.
struct RunnerLog {
  std::vector<std::string> lines;
  int exit_status = -1;
};

RunnerLog run_as_ci_runner(const std::vector<std::string>& argv) {
  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0)
    throw std::runtime_error("pipe");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err[1], 2);
  std::vector<char*> cargv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  pid_t pid = -1;
  int rc = ::posix_spawnp(&pid, cargv[0], &fa, nullptr, cargv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(out[1]);
  ::close(err[1]);
  if (rc != 0) throw std::runtime_error("spawn");

  std::mutex mu;
  std::condition_variable woken;
  std::deque<std::string> queued[2];  // 0: stdout, 1: stderr
  int open_pipes = 2;
  auto reader = [&](int fd, int which) {
    std::string partial;
    char buf[4096];
    for (;;) {
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      std::lock_guard lock(mu);
      if (n <= 0) {
        if (!partial.empty()) queued[which].push_back(partial);
        --open_pipes;
        woken.notify_one();
        break;
      }
      partial.append(buf, static_cast<size_t>(n));
      for (size_t nl; (nl = partial.find('\n')) != std::string::npos; partial.erase(0, nl + 1)) {
        queued[which].push_back(partial.substr(0, nl));
      }
      woken.notify_one();
    }
    ::close(fd);
  };
  std::thread t_out(reader, out[0], 0), t_err(reader, err[0], 1);
  RunnerLog log;
  std::unique_lock lock(mu);
  for (;;) {
    woken.wait(lock, [&] { return !queued[0].empty() || !queued[1].empty() || open_pipes == 0; });
    bool last = open_pipes == 0;
    lock.unlock();
    std::this_thread::sleep_for(std::chrono::milliseconds(3));  // the runner's wake-up latency
    lock.lock();
    for (int which : {1, 0}) {  // stderr first, then stdout
      for (auto& line : queued[which]) log.lines.push_back(std::move(line));
      queued[which].clear();
    }
    if (last) break;
  }
  lock.unlock();
  t_out.join();
  t_err.join();
  int status = 0;
  ::waitpid(pid, &status, 0);
  log.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return log;
}

// What GitHub makes of a log: groups with the lines shown in them, and annotations. Workflow
// commands are obeyed as the runner obeys them: `::stop-commands::T` shows every line as text
// until a line `::T::`.
struct GithubView {
  struct Group {
    std::string title;
    std::vector<std::string> lines;
  };
  std::vector<Group> groups;
  std::vector<std::string> annotations;  // ::error / ::warning / ::notice commands obeyed
  std::vector<std::string> outside;      // text shown outside any group
  std::vector<std::string> stop_tokens;  // every token used
  bool unbalanced = false;               // an endgroup with no group open, or a group left open
};

GithubView github_view(const std::vector<std::string>& log) {
  GithubView v;
  std::string stopped;  // the token while commands are stopped
  bool in_group = false;
  auto text = [&](const std::string& line) {
    (in_group ? v.groups.back().lines : v.outside).push_back(line);
  };
  for (const auto& line : log) {
    // The web log folds on the runner's own syntax, whatever the command processing does.
    if (starts_with(line, "##[group]")) {
      v.groups.push_back({line.substr(9), {}});
      in_group = true;
      continue;
    }
    if (starts_with(line, "##[endgroup]")) {
      v.unbalanced = v.unbalanced || !in_group;
      in_group = false;
      continue;
    }
    if (!stopped.empty()) {
      if (line == "::" + stopped + "::") {
        stopped.clear();
      } else {
        text(line);
      }
    } else if (starts_with(line, "::group::")) {
      v.groups.push_back({line.substr(9), {}});
      in_group = true;
    } else if (line == "::endgroup::") {
      v.unbalanced = v.unbalanced || !in_group;
      in_group = false;
    } else if (starts_with(line, "::stop-commands::")) {
      stopped = line.substr(17);
      v.stop_tokens.push_back(stopped);
    } else if (starts_with(line, "::error") || starts_with(line, "::warning") ||
               starts_with(line, "::notice")) {
      v.annotations.push_back(line);
    } else {
      text(line);
    }
  }
  v.unbalanced = v.unbalanced || in_group || !stopped.empty();
  return v;
}

std::string job_file(const std::vector<std::pair<std::string, std::string>>& jobs,
                     const std::string& extra = "") {
  std::string text = "[";
  for (const auto& [name, cmd] : jobs) {
    std::string quoted;
    for (char c : cmd) {
      if (c == '"' || c == '\\') quoted += '\\';
      quoted += c;
    }
    text += fmt::format("{}{{\"name\": \"{}\", \"cmd\": \"{}\"{}}}", text.size() > 1 ? "," : "",
                        name, quoted, extra);
  }
  return text + "]";
}

// 300 small jobs, each printing on both streams: on GitHub every one of their lines must show
// inside its own job's group, however the runner interleaves the two pipes.
TEST(CiLog, EveryJobLineLandsInItsOwnGroupThroughARunnersTwoPipes) {
  TempDir dir;
  std::vector<std::pair<std::string, std::string>> jobs;
  for (int i = 1; i <= 300; ++i) {
    jobs.emplace_back(fmt::format("j{}", i),
                      fmt::format("echo j{0} out1; echo j{0} err1 >&2; echo j{0} out2", i));
  }
  std::string file = dir.write("jobs.json", job_file(jobs));
  RunnerLog log = run_as_ci_runner(procpool_argv({}, {"run", "-j4", "--ci", "github", file}));
  EXPECT_EQ(log.exit_status, 0);
  GithubView view = github_view(log.lines);
  EXPECT_FALSE(view.unbalanced);
  ASSERT_EQ(view.groups.size(), 300u);
  size_t misplaced = 0;
  std::set<std::string> seen;
  for (const auto& g : view.groups) {
    std::smatch m;
    ASSERT_TRUE(std::regex_search(g.title, m, std::regex(R"(^\[ok\] (j[0-9]+) \()"))) << g.title;
    std::string name = m[1];
    seen.insert(name);
    std::multiset<std::string> expected{name + " out1", name + " err1", name + " out2"};
    std::multiset<std::string> got(g.lines.begin(), g.lines.end());
    misplaced += got != expected;
    EXPECT_EQ(got, expected) << g.title;
  }
  EXPECT_EQ(seen.size(), 300u);
  EXPECT_EQ(misplaced, 0u);
  // Outside the groups: only the summary.
  for (const auto& line : view.outside) EXPECT_FALSE(starts_with(line, "j")) << line;
  EXPECT_TRUE(view.annotations.empty());
}

// The same for GitLab's sections: each job's lines between its own start and end markers.
TEST(CiLog, EveryJobLineLandsInItsOwnSectionThroughARunnersTwoPipes) {
  TempDir dir;
  std::vector<std::pair<std::string, std::string>> jobs;
  for (int i = 1; i <= 200; ++i) {
    jobs.emplace_back(fmt::format("j{}", i), fmt::format("echo j{0} out; echo j{0} err >&2", i));
  }
  std::string file = dir.write("jobs.json", job_file(jobs));
  RunnerLog log = run_as_ci_runner(procpool_argv({}, {"run", "-j4", "--ci", "gitlab", file}));
  EXPECT_EQ(log.exit_status, 0);
  static const std::regex start("section_start:[0-9]+:procpool_job_([0-9]+)\\[collapsed=true\\]");
  static const std::regex end("section_end:[0-9]+:procpool_job_([0-9]+)\r");
  std::string open;  // the section's job id, while one is open
  size_t sections = 0, misplaced = 0;
  for (const auto& line : log.lines) {
    std::smatch m;
    if (std::regex_search(line, m, start)) {
      EXPECT_EQ(open, "") << "nested section";
      open = m[1];
      ++sections;
    } else if (std::regex_search(line, m, end)) {
      EXPECT_EQ(open, m[1].str());
      open.clear();
    } else if (starts_with(line, "j")) {
      // Job N prints "jN ...", and job ids follow the file's order.
      misplaced += open.empty() || line.substr(1, line.find(' ') - 1) != open;
    }
  }
  EXPECT_EQ(sections, 200u);
  EXPECT_EQ(misplaced, 0u);
}

const std::vector<std::pair<std::string, std::string>> kHostileJobs = {
    {"closer",
     "echo '::endgroup::'; echo '::error::pwned'; echo '::warning::w'; echo '::group::fake'"},
    {"stops-itself",
     "echo '::stop-commands::abc'; echo '::abc::'; echo '::error::after its own stop'"},
    {"stderr", "echo '::error::from stderr' >&2; echo '::endgroup::' >&2"},
    {"unterminated", "printf '::error::no newline'"},
    {"fails", "echo '::notice::still text'; exit 3"},
    // The runner's own log syntax, which the web log folds on.
    {"legacy", "echo '##[endgroup]'; echo '##[group]fake'; echo ' ##[error]x'"},
};

TEST(CiLog, GithubShowsJobsWorkflowCommandsButDoesNotObeyThem) {
  TempDir dir;
  std::vector<std::pair<std::string, std::string>> jobs = kHostileJobs;
  // A job that guesses tokens: many random ones, in the token's own shape.
  std::string guesses;
  std::mt19937_64 rng(14);
  for (int i = 0; i < 200; ++i) guesses += fmt::format("echo '::{:016x}{:016x}::'; ", rng(), rng());
  jobs.emplace_back("guesser", guesses + "echo '::endgroup::'; echo '::error::after the guesses'");
  std::string file = dir.write("jobs.json", job_file(jobs));
  RunnerLog log = run_as_ci_runner(procpool_argv({}, {"run", "-j3", "--ci", "github", file}));
  EXPECT_EQ(log.exit_status, 1);
  GithubView view = github_view(log.lines);
  EXPECT_FALSE(view.unbalanced);
  ASSERT_EQ(view.groups.size(), jobs.size());
  // The only annotation is procpool's, for the job that failed.
  ASSERT_EQ(view.annotations.size(), 1u) << fmt::format("{}", fmt::join(view.annotations, "\n"));
  EXPECT_TRUE(starts_with(view.annotations[0], "::error title=fails::[failed] fails (exit 3"));
  // Each job's hostile lines are shown, as text, inside its own group.
  std::map<std::string, std::vector<std::string>> shown;
  for (const auto& g : view.groups) {
    std::smatch m;
    ASSERT_TRUE(std::regex_search(g.title, m, std::regex(R"(^\[[a-z]+\] ([a-z-]+) \()")));
    shown[m[1]] = g.lines;
  }
  auto has = [&](const std::string& job, const std::string& line) {
    const auto& l = shown[job];
    return std::find(l.begin(), l.end(), line) != l.end();
  };
  EXPECT_TRUE(has("closer", "::endgroup::"));
  EXPECT_TRUE(has("closer", "::error::pwned"));
  EXPECT_TRUE(has("closer", "::group::fake"));
  EXPECT_TRUE(has("stops-itself", "::error::after its own stop"));
  EXPECT_TRUE(has("stderr", "::error::from stderr"));
  EXPECT_TRUE(has("unterminated", "::error::no newline"));
  EXPECT_TRUE(has("fails", "::notice::still text"));
  EXPECT_TRUE(has("guesser", "::error::after the guesses"));
  EXPECT_TRUE(has("legacy", "#[job]#[endgroup]"));
  EXPECT_TRUE(has("legacy", "#[job]#[group]fake"));
  EXPECT_TRUE(has("legacy", " ##[error]x"));  // not at the start of a line: not the syntax
  EXPECT_EQ(shown["guesser"].size(), 202u);
  // A fresh token for every block, 128 bits as hex.
  std::set<std::string> tokens(view.stop_tokens.begin(), view.stop_tokens.end());
  EXPECT_EQ(tokens.size(), jobs.size());
  for (const auto& t : tokens) EXPECT_TRUE(std::regex_match(t, std::regex("[0-9a-f]{32}"))) << t;
}

// --line-buffer prints lines as they come, so there are no groups to fold them in; the lines
// still go to one descriptor, and on GitHub the whole live phase is one stop-commands region.
TEST(CiLog, LineBufferedOutputIsShownNotObeyedToo) {
  TempDir dir;
  std::string file = dir.write("jobs.json", job_file(kHostileJobs));
  RunnerLog log =
      run_as_ci_runner(procpool_argv({}, {"run", "-j3", "--line-buffer", "--ci", "github", file}));
  EXPECT_EQ(log.exit_status, 1);
  GithubView view = github_view(log.lines);
  EXPECT_FALSE(view.unbalanced);
  EXPECT_TRUE(view.groups.empty());
  ASSERT_EQ(view.annotations.size(), 1u) << fmt::format("{}", fmt::join(view.annotations, "\n"));
  EXPECT_TRUE(starts_with(view.annotations[0], "::error title=fails::[failed] fails (exit 3"));
  for (std::string line : {"::endgroup::", "::error::pwned", "::error::from stderr",
                           "::error::no newline", "#[job]#[endgroup]"}) {
    EXPECT_NE(std::find(view.outside.begin(), view.outside.end(), line), view.outside.end())
        << line;
  }
  // GitLab: the jobs' markers defused, a line at a time.
  std::string gl = dir.write(
      "gitlab.json", job_file({{"closes", R"(printf 'section_end:1:procpool_job_1\r\033[0K\n')"}}));
  RunOutput r = run_program(procpool_argv({}, {"run", "--line-buffer", "--ci", "gitlab", gl}));
  EXPECT_EQ(r.exit_status, 0);
  EXPECT_TRUE(contains(r.out, "section_end[job]:1:procpool_job_1")) << r.out;
  EXPECT_FALSE(contains(r.out, "\nsection_end:1:")) << r.out;
}

TEST(CiLog, CiJobCommandsLetsAJobsAnnotationsThrough) {
  TempDir dir;
  std::string file = dir.write(
      "jobs.json", job_file({{"lint", "echo '::warning file=a.c,line=3::unused variable'"}}));
  RunnerLog log =
      run_as_ci_runner(procpool_argv({}, {"run", "--ci", "github", "--ci-job-commands", file}));
  EXPECT_EQ(log.exit_status, 0);
  GithubView view = github_view(log.lines);
  ASSERT_EQ(view.annotations.size(), 1u);
  EXPECT_EQ(view.annotations[0], "::warning file=a.c,line=3::unused variable");
  EXPECT_TRUE(view.stop_tokens.empty());
}

// Fifteen jobs that did not succeed: GitHub would show ten annotations and drop the rest
// without a word; procpool writes the ten worst, then one that counts the others.
TEST(CiLog, GithubAnnotationsAreCappedAtTenWorstFirst) {
  TempDir dir;
  std::string jobs = "[";
  auto add = [&](const std::string& name, const std::string& rest) {
    jobs += fmt::format("{}{{\"name\": \"{}\", {}}}", jobs.size() > 1 ? "," : "", name, rest);
  };
  for (int i = 1; i <= 9; ++i) add(fmt::format("fail{}", i), "\"cmd\": \"exit 1\"");
  add("missing", "\"cmd\": [\"/nonexistent/tool\"]");
  for (int i = 1; i <= 2; ++i)
    add(fmt::format("hang{}", i), R"("cmd": "sleep 30", "timeout": "200ms")");
  for (int i = 1; i <= 3; ++i) add(fmt::format("segv{}", i), R"("cmd": "kill -SEGV $$")");
  add("good", "\"cmd\": \"true\"");
  jobs += "]";
  std::string file = dir.write("jobs.json", jobs);
  for (bool quiet : {false, true}) {
    std::vector<std::string> args{"run", "-j4", "--ci", "github", file};
    if (quiet) args.insert(args.begin() + 1, "-q");
    RunOutput r = run_program(procpool_argv({}, args));
    EXPECT_EQ(r.exit_status, 1) << r.err;
    std::vector<std::string> annotations;
    for (const auto& line : lines(r.out)) {
      if (starts_with(line, "::error")) annotations.push_back(line);
    }
    ASSERT_EQ(annotations.size(), 11u) << r.out;
    for (int i = 0; i < 3; ++i) EXPECT_TRUE(contains(annotations[i], "::[crashed] segv")) << i;
    for (int i = 3; i < 5; ++i) EXPECT_TRUE(contains(annotations[i], "::[timeout] hang")) << i;
    EXPECT_TRUE(contains(annotations[5], "::[error] missing")) << annotations[5];
    for (int i = 6; i < 10; ++i) EXPECT_TRUE(contains(annotations[i], "::[failed] fail")) << i;
    // -q prints no summary: the log's headers of the jobs that failed are what is left.
    EXPECT_EQ(annotations[10], quiet ? "::error title=procpool::5 more jobs did not succeed; see "
                                       "the log"
                                     : "::error title=procpool::5 more jobs did not succeed; see "
                                       "the summary at the end of the log");
  }
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// GITHUB_STEP_SUMMARY, end to end: appended to, named in the last annotation, left alone by
// --ci plain, and a path that cannot be written stops procpool before any job runs.
TEST(CiLog, GithubStepSummaryIsAppendedAndTheAnnotationsPointToIt) {
  TempDir dir;
  std::string md = dir.write("summary.md", "before\n");
  std::string jobs = "[{\"name\": \"fine\", \"cmd\": \"true\"}";
  for (int i = 1; i <= 11; ++i) {
    jobs += fmt::format(",{{\"name\": \"bad{}|<b>x</b>\", \"cmd\": \"echo boom{} >&2; exit 3\"}}",
                        i, i);
  }
  std::string file = dir.write("jobs.json", jobs + "]");
  RunOutput r =
      run_program(procpool_argv({"GITHUB_STEP_SUMMARY=" + md}, {"run", "--ci", "github", file}));
  EXPECT_EQ(r.exit_status, 1) << r.err;
  std::string text = slurp(md);
  EXPECT_TRUE(starts_with(text, "before\n")) << text;
  EXPECT_TRUE(contains(text, "### procpool: jobs\n")) << text;
  EXPECT_TRUE(contains(text, "bad7&#124;&lt;b&gt;x&lt;/b&gt;")) << text;
  EXPECT_TRUE(contains(text, "boom7")) << text;
  EXPECT_TRUE(
      contains(r.out, "::error title=procpool::1 more job did not succeed; see the step summary\n"))
      << r.out;
  // Not GitHub's style: not GitHub's summary either.
  RunOutput plain =
      run_program(procpool_argv({"GITHUB_STEP_SUMMARY=" + md}, {"run", "--ci", "plain", file}));
  EXPECT_EQ(plain.exit_status, 1);
  EXPECT_EQ(slurp(md), text);
  // A summary file that cannot be opened: nothing runs.
  std::string ran = dir.path() + "/ran";
  std::string one = dir.write("one.json", "[{\"name\": \"a\", \"cmd\": \"touch " + ran + "\"}]");
  RunOutput bad = run_program(procpool_argv({"GITHUB_STEP_SUMMARY=" + dir.path() + "/no/such/x"},
                                            {"run", "--ci", "github", one}));
  EXPECT_EQ(bad.exit_status, 2);
  EXPECT_TRUE(contains(bad.err, "unset GITHUB_STEP_SUMMARY")) << bad.err;
  EXPECT_NE(::access(ran.c_str(), F_OK), 0);
}

// GitLab shows each section's duration from its markers' times: they must be the job's own.
TEST(CiLog, GitlabSectionsCarryTheJobsStartAndEndTimes) {
  TempDir dir;
  std::string file = dir.write("jobs.json", job_file({{"slow", "sleep 2.2"}, {"quick", "true"}}));
  int64_t before = ::time(nullptr);
  RunOutput r = run_program(procpool_argv({}, {"run", "-j1", "--ci", "gitlab", file}));
  int64_t after = ::time(nullptr);
  EXPECT_EQ(r.exit_status, 0) << r.err;
  std::map<std::string, std::pair<int64_t, int64_t>> times;
  static const std::regex marker("section_(start|end):([0-9]+):(procpool_job_[0-9]+)");
  for (auto it = std::sregex_iterator(r.out.begin(), r.out.end(), marker);
       it != std::sregex_iterator(); ++it) {
    int64_t t = std::stoll((*it)[2]);
    auto& [start, end] = times[(*it)[3]];
    ((*it)[1] == "start" ? start : end) = t;
  }
  ASSERT_EQ(times.size(), 2u) << r.out;
  auto [start, end] = times["procpool_job_1"];
  EXPECT_GE(end - start, 2) << r.out;
  EXPECT_GE(start, before);
  EXPECT_LE(end, after);
  // The second job started after the first ended (-j1), and its section says so.
  EXPECT_GE(times["procpool_job_2"].first, end);
}

TEST(CiLog, GitlabJobsCannotOpenOrCloseSections) {
  TempDir dir;
  std::string file = dir.write(
      "jobs.json",
      job_file(
          {{"closes", R"(printf '\033[0Ksection_end:1:procpool_job_1\r\033[0K\n'; echo after)"},
           {"opens", R"(printf 'section_start:1:evil[collapsed=true]\r\033[0Kfake\n')"},
           // The keyword split across the job's two streams, which share one descriptor.
           {"split", R"(printf 'section_e'; printf 'nd:1:procpool_job_3\r\033[0K\n' >&2)"}}));
  RunOutput r = run_program(procpool_argv({}, {"run", "-j1", "--ci", "gitlab", file}));
  EXPECT_EQ(r.exit_status, 0) << r.err;
  // GitLab's own marker syntax (Gitlab::Regex.build_trace_section_regex).
  static const std::regex gitlab_marker(
      "section_((?:start)|(?:end)):(\\d+):([a-zA-Z0-9_.-]+)((?:\\[(?:\\w+=\\w+)(?:,\\w+=\\w+)*\\])?"
      ")"
      "\r\x1b\\[0K");
  std::vector<std::string> markers;
  for (auto it = std::sregex_iterator(r.out.begin(), r.out.end(), gitlab_marker);
       it != std::sregex_iterator(); ++it) {
    markers.push_back((*it)[1].str() + " " + (*it)[3].str());
  }
  std::vector<std::string> expected{"start procpool_job_1", "end procpool_job_1",
                                    "start procpool_job_2", "end procpool_job_2",
                                    "start procpool_job_3", "end procpool_job_3"};
  EXPECT_EQ(markers, expected) << r.out;
  // What the jobs wrote is still there to read.
  EXPECT_TRUE(contains(r.out, "section_end[job]:1:procpool_job_1\r\x1b[0K\nafter\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "section_start[job]:1:evil")) << r.out;
  EXPECT_TRUE(contains(r.out, "section_end[job]:1:procpool_job_3")) << r.out;
}

// --ci plain keeps the split: the jobs' stdout alone on stdout, procpool's lines on stderr.
TEST(CiLog, PlainKeepsJobStdoutApartFromProcpoolsLines) {
  TempDir dir;
  std::string file = dir.write("jobs.json", job_file({{"a", "echo out; echo err >&2"}}));
  RunOutput r = run_program(procpool_argv({"GITHUB_ACTIONS=true"}, {"run", "--ci", "plain", file}));
  EXPECT_EQ(r.exit_status, 0);
  EXPECT_EQ(r.out, "out\n");
  EXPECT_TRUE(contains(r.err, "[ok] a (")) << r.err;
  EXPECT_TRUE(contains(r.err, "err\n")) << r.err;
}

}  // namespace
}  // namespace procpool::testing
