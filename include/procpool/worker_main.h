// The worker hook: a program that links the library can be its own pool's worker, so it needs no
// procpool binary beside it. Its main hands the argument it chose over to the hook, before
// anything else, and names itself as the worker command:
//
//   int main(int argc, char** argv) {
//     if (argc > 1 && std::string(argv[1]) == "procpool-worker") return procpool::worker_main();
//     procpool::PoolOptions options;
//     options.worker_command = {procpool::self_exe(), "procpool-worker"};
//     procpool::ProcessPool pool(options);
//     ...
//   }
//
// A program started as a worker that does not call the hook (it runs its own main again) cannot
// start a pool: the constructor throws, and the pool that started it fails its jobs saying so.
// Defined in the worker library (procpool_worker); the procpool binary's `worker` subcommand is
// the same loop.
#pragma once

namespace procpool {

// Speaks the frame protocol on stdin and stdout: runs the jobs its pool sends, one at a time,
// until stdin closes, then returns the exit status for main to return. Its own log lines go to
// stderr ("procpool worker: ..."), which the pool passes on. Call it before starting any thread:
// it blocks SIGCHLD, SIGTERM, SIGHUP and SIGINT, ignores SIGPIPE and makes the process a child
// subreaper (what the jobs leave behind comes back to it, to be stopped).
int worker_main();

}  // namespace procpool
