// procpool installed as people install it: `cmake --install` into a fresh prefix (and under a
// DESTDIR), the installed binary running batches from there with no procpool on PATH, its man
// page rendering without a warning and describing every option the binary has, each shell's
// completion loaded in that shell (a real interactive zsh at a terminal included) completing
// subcommands, every option and fixed values, and the Debian package scripts/package builds,
// checked by lintian and installed into a fresh dpkg root. Shells and tools that are missing
// skip their tests (scripts/setup installs them all).
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/e2e.h"
#include "tests/support/pty.h"

namespace procpool::testing {
namespace {

namespace fs = std::filesystem;
using Words = std::set<std::string>;

fs::path repo_root() {
  return fs::path(__FILE__).parent_path().parent_path();
}

// The build directory: the built binary lies at its top.
fs::path build_dir() {
  return fs::path(procpool_bin()).parent_path();
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// NAME's path in one of PATH's directories, or "" when none has it.
std::string find_program(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    if (dir.empty()) continue;
    fs::path candidate = fs::path(dir) / name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
  }
  return "";
}

Words word_set(const std::string& text) {
  std::vector<std::string> l = lines(text);
  return Words(l.begin(), l.end());
}

std::string joined(const Words& words) {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : " ") + w;
  return out;
}

// What `a` has that `b` has not.
Words minus(const Words& a, const Words& b) {
  Words out;
  for (const auto& w : a) {
    if (!b.count(w)) out.insert(w);
  }
  return out;
}

Words long_only(const Words& names) {
  Words out;
  for (const auto& n : names) {
    if (n.rfind("--", 0) == 0) out.insert(n);
  }
  return out;
}

// Every name of every option a --help lists ("-j", "--jobs", "--slurm"): the first word of each
// option line, without what CLI11 shows of its value ("--slurm[=SRUN-ARGS]", "--slurm{}").
Words options_in_help(const std::string& help) {
  static const std::regex name("^--?[A-Za-z0-9][A-Za-z0-9-]*");
  Words out;
  for (const auto& line : lines(help)) {
    if (line.rfind("  -", 0) != 0) continue;
    std::string spec = line.substr(2, line.find(' ', 2) - 2);
    std::stringstream names(spec);
    for (std::string n; std::getline(names, n, ',');) {
      std::smatch m;
      if (std::regex_search(n, m, name)) out.insert(m.str());
    }
  }
  return out;
}

Words options_of(const std::string& command) {
  RunOutput r = run_procpool({command, "--help"});
  EXPECT_EQ(r.exit_status, 0) << command << " --help: " << r.err;
  Words names = options_in_help(r.out);
  EXPECT_GT(names.size(), 10u) << "no options found in `procpool " << command << " --help`:\n"
                               << r.out;
  return names;
}

// The commands `procpool --help` lists, and worker (hidden from the help: procpool starts it).
Words subcommands() {
  RunOutput r = run_procpool({"--help"});
  Words out{"worker"};
  bool in_list = false;
  for (const auto& line : lines(r.out)) {
    if (line == "Commands:" || line == "Subcommands:") {
      in_list = true;
    } else if (in_list && line.rfind("  ", 0) == 0 && line.size() > 2 && line[2] != ' ') {
      out.insert(line.substr(2, line.find(' ', 2) - 2));
    } else if (in_list) {
      in_list = false;
    }
  }
  EXPECT_TRUE(out.count("run") && out.count("map")) << "no commands in procpool --help:\n" << r.out;
  return out;
}

std::string version() {
  RunOutput r = run_procpool({"--version"});
  std::string v = r.out.substr(r.out.find(' ') + 1);
  while (!v.empty() && v.back() == '\n') v.pop_back();
  return v;  // "0.1.0"
}

// The build installed once per test program: `cmake --install BUILD --prefix PREFIX`.
struct Installed {
  TempDir dir;
  std::string prefix = dir.path() + "/prefix";
  std::string error;  // what went wrong, or ""
  std::string bin() const { return prefix + "/bin/procpool"; }
  std::string man_page() const { return prefix + "/share/man/man1/procpool.1"; }
  std::string bash_file() const { return prefix + "/share/bash-completion/completions/procpool"; }
  std::string zsh_dir() const { return prefix + "/share/zsh/site-functions"; }
  std::string fish_file() const {
    return prefix + "/share/fish/vendor_completions.d/procpool.fish";
  }
};

const Installed& installed() {
  static Installed in = [] {
    Installed i;
    RunOutput r = run_program({"cmake", "--install", build_dir().string(), "--prefix", i.prefix});
    if (r.exit_status != 0) i.error = "cmake --install failed: " + r.out + r.err;
    return i;
  }();
  return in;
}

// Runs `args` with nothing of the test's environment but a PATH without any procpool on it.
RunOutput run_clean(std::vector<std::string> args) {
  args.insert(args.begin(), {"/usr/bin/env", "-i", "PATH=/usr/bin:/bin", "LANG=C.UTF-8"});
  return run_program(args);
}

// The installed binary runs a batch from where it is, and its worker is itself: the job's
// parent process (the worker) runs that very file.
void expect_runs_with_its_own_worker(const std::string& bin) {
  if (!fs::is_regular_file(bin)) {
    ADD_FAILURE() << bin << " is missing";
    return;
  }
  RunOutput r = run_clean({bin, "map", "echo", ":::", "a"});
  EXPECT_EQ(r.exit_status, 0) << r.err;
  EXPECT_EQ(r.out, "a\n") << r.err;
  r = run_clean({bin, "map", "readlink /proc/$PPID/exe; : {}", ":::", "a"});
  EXPECT_EQ(r.exit_status, 0) << r.err;
  EXPECT_EQ(r.out, fs::canonical(bin).string() + "\n") << r.err;
  r = run_program({"/usr/bin/env", "-i", "PATH=/usr/bin:/bin", bin, "run", "-q", "-"},
                  R"([{"name": "b", "cmd": ["echo", "b"]}])");
  EXPECT_EQ(r.exit_status, 0) << r.err;
  EXPECT_EQ(r.out, "b\n") << r.err;
}

TEST(InstallTest, PutsTheToolAndTheLibraryUnderThePrefix) {
  const Installed& in = installed();
  ASSERT_EQ(in.error, "");
  for (const std::string& f : {in.bin(), in.man_page(), in.bash_file(), in.zsh_dir() + "/_procpool",
                               in.fish_file(), in.prefix + "/include/procpool/pool.h",
                               in.prefix + "/lib/cmake/procpool/procpoolConfig.cmake",
                               in.prefix + "/lib/pkgconfig/procpool.pc"}) {
    EXPECT_TRUE(fs::is_regular_file(f)) << f << " was not installed";
  }
  EXPECT_EQ(::access(in.bin().c_str(), X_OK), 0);
  // Data files are not executable: a completion or man page is read, never run.
  auto perms = fs::status(in.man_page()).permissions();
  EXPECT_EQ(perms & fs::perms::owner_exec, fs::perms::none);
}

TEST(InstallTest, InstalledBinaryRunsBatchesWithItsOwnWorker) {
  const Installed& in = installed();
  ASSERT_EQ(in.error, "");
  expect_runs_with_its_own_worker(in.bin());
}

// DESTDIR stages an install for a package: everything lands under DESTDIR/PREFIX; the
// `tool` component is the binary, its man page and completions, and nothing of the library.
TEST(InstallTest, HonoursDestdirAndTheToolComponent) {
  TempDir dest;
  RunOutput r =
      run_program({"/usr/bin/env", "DESTDIR=" + dest.path(), "cmake", "--install",
                   build_dir().string(), "--prefix", "/opt/procpool", "--component", "tool"});
  ASSERT_EQ(r.exit_status, 0) << r.out << r.err;
  std::string root = dest.path() + "/opt/procpool";
  ASSERT_TRUE(fs::is_directory(root)) << "nothing installed under DESTDIR/PREFIX";
  Words files;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    if (e.is_regular_file()) files.insert(fs::relative(e.path(), root).string());
  }
  EXPECT_EQ(joined(files),
            joined({"bin/procpool", "share/bash-completion/completions/procpool",
                    "share/fish/vendor_completions.d/procpool.fish", "share/man/man1/procpool.1",
                    "share/zsh/site-functions/_procpool"}));
  expect_runs_with_its_own_worker(root + "/bin/procpool");
}

TEST(InstallManPage, RendersWithoutWarnings) {
  const Installed& in = installed();
  ASSERT_EQ(in.error, "");
  if (std::string groff = find_program("groff"); !groff.empty()) {
    RunOutput g = run_clean({groff, "-man", "-Tutf8", "-ww", "-z", in.man_page()});
    EXPECT_EQ(g.exit_status, 0);
    EXPECT_EQ(g.err, "") << "groff's warnings";
  }
  std::string man = find_program("man");
  if (man.empty()) GTEST_SKIP() << "man is not installed (scripts/setup installs man-db)";
  // As lintian reads a man page: every warning groff has.
  RunOutput r = run_clean(
      {"/usr/bin/env", "MANWIDTH=80", man, "--warnings", "-E", "UTF-8", "-l", in.man_page()});
  EXPECT_EQ(r.exit_status, 0) << r.err;
  EXPECT_EQ(r.err, "") << "man's warnings";
  for (const char* heading : {"NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "REPLACEMENT STRINGS",
                              "EXIT STATUS", "ENVIRONMENT", "FILES", "EXAMPLES", "SEE ALSO"}) {
    EXPECT_NE(r.out.find("\n" + std::string(heading) + "\n"), std::string::npos) << heading;
  }
  EXPECT_NE(r.out.find("procpool map 'gzip -9 {}' ::: *.log"), std::string::npos)
      << "an example should read as it is typed (ASCII quotes and dashes):\n"
      << r.out;
}

// The option names of the man page's item lines (the line after each .TP) in OPTIONS, with
// roff's escapes read as text: "\-\-jobs" is --jobs.
Words options_in_man_page(const std::string& roff) {
  std::string text = std::regex_replace(roff, std::regex(R"(\\f[BIRP]|\\&|\\c)"), "");
  text = std::regex_replace(text, std::regex(R"(\\-)"), "-");
  size_t from = text.find("\n.SH OPTIONS");
  size_t to = text.find("\n.SH ", from + 1);
  std::string options = text.substr(from, to - from);
  static const std::regex name("(^|[^A-Za-z0-9-])(--?[A-Za-z0-9][A-Za-z0-9-]*)");
  Words out;
  std::vector<std::string> l = lines(options);
  for (size_t i = 0; i + 1 < l.size(); ++i) {
    if (l[i] != ".TP") continue;
    const std::string& item = l[i + 1];
    for (auto m = std::sregex_iterator(item.begin(), item.end(), name); m != std::sregex_iterator();
         ++m) {
      out.insert((*m)[2].str());
    }
  }
  return out;
}

// A drift guard: an option added to the binary fails this test until the man page describes it,
// and one the man page describes must exist.
TEST(InstallManPage, DescribesEveryOptionAndNoOther) {
  const Installed& in = installed();
  ASSERT_EQ(in.error, "");
  std::string roff = read_file(in.man_page());
  Words documented = options_in_man_page(roff);
  Words run = options_of("run"), map = options_of("map");
  Words all = run;
  all.insert(map.begin(), map.end());
  Words top = options_in_help(run_procpool({"--help"}).out);
  EXPECT_EQ(joined(minus(all, documented)), "")
      << "options of the binary that cli/man/procpool.1 does not describe (give each an item in "
         "OPTIONS)";
  all.insert(top.begin(), top.end());
  EXPECT_EQ(joined(minus(documented, all)), "")
      << "options cli/man/procpool.1 describes that the binary does not have";
  EXPECT_NE(roff.find("\n.TH PROCPOOL 1 "), std::string::npos);
  EXPECT_NE(roff.find("\"procpool " + version() + "\""), std::string::npos)
      << "the .TH line of cli/man/procpool.1 names another version than procpool --version";
  for (const auto& sub : subcommands()) {
    EXPECT_NE(roff.find("\n.B procpool " + sub + "\n"), std::string::npos)
        << "the man page does not describe procpool " << sub;
  }
}

// Completes the line `words` (the last one being completed) with the installed bash completion,
// as bash calls it: COMP_WORDS and COMP_CWORD set, the function named by `complete -F`.
Words bash_complete(const std::vector<std::string>& words, const std::string& cwd = "/") {
  std::vector<std::string> args = {"/usr/bin/env",
                                   "-i",
                                   "PATH=/usr/bin:/bin",
                                   "bash",
                                   "--norc",
                                   "--noprofile",
                                   "-c",
                                   R"(cd "$1" && source "$2" || exit 1
         shift 2
         fn=$(complete -p procpool | sed -n 's/.*-F \([^ ]*\) procpool$/\1/p')
         COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
         "$fn" procpool "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
         printf '%s\n' "${COMPREPLY[@]}")",
                                   "bash",
                                   cwd,
                                   installed().bash_file()};
  args.insert(args.end(), words.begin(), words.end());
  RunOutput r = run_program(args);
  EXPECT_EQ(r.exit_status, 0) << r.err;
  Words out = word_set(r.out);
  out.erase("");
  return out;
}

TEST(InstallBashCompletion, CompletesCommandsEveryOptionValuesAndFiles) {
  ASSERT_EQ(installed().error, "");
  EXPECT_EQ(joined(bash_complete({"procpool", "ma"})), "map");
  EXPECT_EQ(joined(bash_complete({"procpool", ""})), joined(subcommands()));
  EXPECT_EQ(joined(bash_complete({"procpool", "help", ""})), "map run");
  // Every option, long and short, and nothing else (a drift guard for the lists in the file).
  EXPECT_EQ(joined(bash_complete({"procpool", "run", "-"})), joined(options_of("run")));
  EXPECT_EQ(joined(bash_complete({"procpool", "map", "-j", "4", "-"})), joined(options_of("map")));
  EXPECT_EQ(joined(bash_complete({"procpool", "run", "--for"})), "--format");
  EXPECT_EQ(joined(bash_complete({"procpool", "run", "--format", ""})), "jsonl text");
  EXPECT_EQ(joined(bash_complete({"procpool", "map", "--format", "=", "j"})), "jsonl");
  EXPECT_EQ(joined(bash_complete({"procpool", "run", "--ci", ""})), "auto github gitlab plain");
  EXPECT_EQ(joined(bash_complete({"procpool", "run", "--color", ""})), "always auto never");
  EXPECT_EQ(joined(bash_complete({"procpool", "map", "--retry-on", "failed,t"})), "failed,timeout");
  TempDir dir;
  dir.write("jobs.json", "[]");
  dir.write("junit-old.xml", "");
  EXPECT_EQ(joined(bash_complete({"procpool", "run", "jo"}, dir.path())), "jobs.json");
  EXPECT_EQ(joined(bash_complete({"procpool", "run", "--junit", "ju"}, dir.path())),
            "junit-old.xml");
  // From the template on, the words are the command's: no procpool options there.
  EXPECT_EQ(joined(bash_complete({"procpool", "map", "gzip", "--jo"}, dir.path())), "");
  EXPECT_EQ(joined(bash_complete({"procpool", "map", "--jobs", "4", "gzip", "jo"}, dir.path())),
            "jobs.json");
  EXPECT_EQ(joined(bash_complete({"procpool", "worker", "--"})), "--cwd");
}

TEST(InstallZshCompletion, CompletesInAnInteractiveZsh) {
  std::string zsh = find_program("zsh");
  if (zsh.empty()) GTEST_SKIP() << "zsh is not installed (scripts/setup installs it)";
  const Installed& in = installed();
  ASSERT_EQ(in.error, "");
  RunOutput syntax = run_program({zsh, "-n", in.zsh_dir() + "/_procpool"});
  ASSERT_EQ(syntax.exit_status, 0) << syntax.err;

  // A zsh at a terminal, with compinit and the installed completion on its fpath. Completion
  // runs for real (_arguments and all); compadd is wrapped to write down what it would offer
  // instead of offering it, and Ctrl-T completes the line, saves those matches to hits.N and
  // shows PP-CAPTURED-N, which the test waits for.
  TempDir home;
  home.write(".zshrc", "fpath=('" + in.zsh_dir() + "' $fpath)\n" + R"zsh(
autoload -Uz compinit && compinit -u -D
bindkey -e
PROMPT='pp%%> '
typeset -ga __pp_hits
typeset -gi __pp_n=0
compadd() {
  # Calls that only ask (-O, -A, -D) are the completion system's own: as they are.
  if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then builtin compadd "$@"; return; fi
  local -a hits
  builtin compadd -O hits "$@"
  __pp_hits+=($hits)
  (( $#hits ))
}
__pp_capture() {
  __pp_hits=()
  zle complete-word
  print -rl -- ${(u)__pp_hits} > ~/hits.$((++__pp_n))
  zle -M "PP-CAPTURED-$__pp_n."
}
zle -N __pp_capture
bindkey '^T' __pp_capture
print -r -- "PP-READY-$((6*7))"
)zsh");
  PtySession z({zsh, "-d", "-i"},
               PtyOptions{{"ZDOTDIR=" + home.path(), "HOME=" + home.path(), "TERM=xterm"}, {}, {}});
  using std::chrono::seconds;
  ASSERT_TRUE(z.wait_for("PP-READY-42", seconds(30))) << z.screen();
  ASSERT_TRUE(z.wait_for("pp%> ", seconds(30))) << z.screen();
  int n = 0;
  auto complete = [&](const std::string& line) {
    size_t from = z.size();
    z.type(line + "\x14");
    std::string mark = "PP-CAPTURED-" + std::to_string(++n) + ".";
    bool done = z.wait_for(mark, seconds(30), from);
    z.type("\x15");  // Ctrl-U: the next line starts empty
    EXPECT_TRUE(done) << "zsh did not complete '" << line << "':\n" << z.screen().substr(from);
    Words hits = word_set(read_file(home.path() + "/hits." + std::to_string(n)));
    hits.erase("");
    return hits;
  };
  EXPECT_EQ(joined(complete("procpool ma")), "map");
  EXPECT_EQ(joined(complete("procpool ")), joined(subcommands()));
  EXPECT_EQ(joined(complete("procpool help ")), "map run");
  EXPECT_EQ(joined(complete("procpool run --")), joined(long_only(options_of("run"))));
  // An option given is not offered again (unless it is repeatable, as --ssh).
  EXPECT_EQ(joined(complete("procpool map --csv --")),
            joined(minus(long_only(options_of("map")), {"--csv"})));
  EXPECT_EQ(joined(complete("procpool run --format ")), "jsonl text");
  EXPECT_EQ(joined(complete("procpool map --ci ")), "auto github gitlab plain");
  EXPECT_EQ(joined(complete("procpool map gzip --jo")), "")
      << "procpool's options offered after the template";
}

// Completes `line` with the installed fish completion: the candidates `complete -C` prints.
Words fish_complete(const std::string& fish, const std::string& line) {
  TempDir home;
  RunOutput r = run_program({"/usr/bin/env", "-i", "PATH=/usr/bin:/bin", "HOME=" + home.path(),
                             "XDG_CONFIG_HOME=" + home.path(), "XDG_DATA_HOME=" + home.path(), fish,
                             "--no-config", "-c", "source $argv[1]; and complete -C $argv[2]",
                             installed().fish_file(), line});
  EXPECT_EQ(r.exit_status, 0) << r.err;
  Words out;
  for (const auto& l : lines(r.out)) out.insert(l.substr(0, l.find('\t')));
  return out;
}

TEST(InstallFishCompletion, CompletesCommandsEveryOptionAndValues) {
  std::string fish = find_program("fish");
  if (fish.empty()) GTEST_SKIP() << "fish is not installed (scripts/setup installs it)";
  ASSERT_EQ(installed().error, "");
  EXPECT_EQ(joined(fish_complete(fish, "procpool ma")), "map");
  EXPECT_EQ(joined(fish_complete(fish, "procpool ")), joined(subcommands()));
  EXPECT_EQ(joined(fish_complete(fish, "procpool help ")), "map run");
  EXPECT_EQ(joined(fish_complete(fish, "procpool run -")), joined(options_of("run")));
  EXPECT_EQ(joined(fish_complete(fish, "procpool map -j 4 -")), joined(options_of("map")));
  EXPECT_EQ(joined(fish_complete(fish, "procpool run --format ")), "jsonl text");
  EXPECT_EQ(joined(fish_complete(fish, "procpool map --color ")), "always auto never");
  EXPECT_EQ(joined(fish_complete(fish, "procpool map gzip --jo")), "")
      << "procpool's options offered after the template";
}

TEST(InstallDebPackage, BuildsPassesLintianAndInstallsIntoAFreshRoot) {
  if (find_program("dpkg-deb").empty() || find_program("dpkg").empty()) {
    GTEST_SKIP() << "dpkg-deb is not installed: not a Debian system";
  }
  bool lintian = !find_program("lintian").empty();
  TempDir out;
  std::vector<std::string> args = {(repo_root() / "scripts/package").string(), "--build-dir",
                                   build_dir().string(), "--out", out.path()};
  if (!lintian) args.push_back("--no-lintian");
  RunOutput r = run_program(args);
  ASSERT_EQ(r.exit_status, 0) << "scripts/package (lintian errors fail it):\n" << r.err;
  if (!lintian) std::cerr << "lintian is not installed: the package was not checked\n";
  EXPECT_EQ(r.err.find("\nE: "), std::string::npos) << r.err;
  std::string arch = run_program({"dpkg", "--print-architecture"}).out;
  arch.pop_back();
  std::string deb = out.path() + "/procpool_" + version() + "-1_" + arch + ".deb";
  EXPECT_EQ(r.out, deb + "\n");

  RunOutput contents = run_program({"dpkg-deb", "--contents", deb});
  ASSERT_EQ(contents.exit_status, 0) << contents.err;
  for (const char* f :
       {"./usr/bin/procpool", "./usr/share/man/man1/procpool.1.gz",
        "./usr/share/bash-completion/completions/procpool",
        "./usr/share/zsh/vendor-completions/_procpool",
        "./usr/share/fish/vendor_completions.d/procpool.fish", "./usr/share/doc/procpool/copyright",
        "./usr/share/doc/procpool/changelog.Debian.gz"}) {
    EXPECT_NE(contents.out.find(std::string(" ") + f + "\n"), std::string::npos) << f;
  }
  EXPECT_EQ(contents.out.find("/include/"), std::string::npos) << "the library is not the tool's";
  for (const auto& line : lines(contents.out)) {
    EXPECT_NE(line.find(" root/root "), std::string::npos) << line;
  }
  // Depends: what the binary links dynamically; the default static binary links nothing.
  bool dynamic =
      run_program({"readelf", "-d", procpool_bin()}).out.find("(NEEDED)") != std::string::npos;
  std::string depends = run_program({"dpkg-deb", "-f", deb, "Depends"}).out;
  while (!depends.empty() && depends.back() == '\n') depends.pop_back();
  if (dynamic) {
    EXPECT_NE(depends.find("libc6"), std::string::npos) << depends;
  } else {
    EXPECT_EQ(depends, "");
  }

  if (::geteuid() != 0) GTEST_SKIP() << "installing into a dpkg root needs root";
  // A fresh, empty system for dpkg: only its database. The static package's empty Depends
  // must hold there as it is, so dependencies are not forced unless there are some.
  TempDir root;
  fs::create_directories(root.path() + "/var/lib/dpkg/info");
  fs::create_directories(root.path() + "/var/lib/dpkg/updates");
  root.write("var/lib/dpkg/status", "");
  root.write("var/lib/dpkg/available", "");
  std::vector<std::string> install = {"dpkg", "--root=" + root.path(), "-i", deb};
  if (dynamic) install.insert(install.begin() + 2, "--force-depends");
  RunOutput i = run_program(install);
  ASSERT_EQ(i.exit_status, 0) << i.out << i.err;
  EXPECT_NE(run_program({"dpkg", "--root=" + root.path(), "-s", "procpool"})
                .out.find("Status: install ok installed"),
            std::string::npos);
  expect_runs_with_its_own_worker(root.path() + "/usr/bin/procpool");
  if (std::string man = find_program("man"); !man.empty()) {
    RunOutput m = run_clean({man, "-l", root.path() + "/usr/share/man/man1/procpool.1.gz"});
    EXPECT_EQ(m.exit_status, 0) << m.err;
    EXPECT_NE(m.out.find("EXIT STATUS"), std::string::npos);
  }
  RunOutput rm = run_program({"dpkg", "--root=" + root.path(), "-r", "procpool"});
  ASSERT_EQ(rm.exit_status, 0) << rm.out << rm.err;
  EXPECT_FALSE(fs::exists(root.path() + "/usr/bin/procpool"));
  EXPECT_FALSE(fs::exists(root.path() + "/usr/share/doc/procpool"));
}

}  // namespace
}  // namespace procpool::testing
