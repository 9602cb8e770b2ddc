// A user's program against an installed procpool: runs three jobs through the installed
// `procpool` binary (found next to the library's install), one of them failing, and checks what
// came back. Exits 0 when everything is as documented.
#include <procpool/as_completed.h>
#include <procpool/pool.h>
#include <procpool/version.h>

#include <cstdio>
#include <string>
#include <vector>

int main() {
  static_assert(PROCPOOL_VERSION >= 100, "version macro");
  procpool::ProcessPool pool({.workers = 2});
  std::vector<procpool::Future> futures;
  for (const char* cmd : {"echo one", "echo two", "exit 3"}) {
    procpool::Job job;
    job.shell = cmd;
    futures.push_back(pool.submit(std::move(job)));
  }
  int ok = 0, failed = 0;
  std::string out;
  for (const procpool::Future& f : procpool::as_completed(futures)) {
    const procpool::Result& r = f.result();
    if (r.status == procpool::Status::kOk) ++ok;
    if (r.status == procpool::Status::kFailed && r.exit_code == 3) ++failed;
    out += r.output.text(procpool::Stream::kStdout);
  }
  std::printf("procpool %s: %d ok, %d failed\n", PROCPOOL_VERSION_STRING, ok, failed);
  bool right = ok == 2 && failed == 1 && out.size() == 8;
  if (!right) std::fprintf(stderr, "consumer: unexpected results (output %s)\n", out.c_str());
  return right ? 0 : 1;
}
