// procpool's exit statuses, in one place because CI pipelines depend on them.
#pragma once

namespace procpool {

inline constexpr int kExitOk = 0;         // every job succeeded
inline constexpr int kExitJobFailed = 1;  // some job did not succeed (failed, timed out, ...)
inline constexpr int kExitUsage = 2;      // bad flags or input, or no worker could start
inline constexpr int kExitSigint = 130;   // stopped by Ctrl-C (128 + SIGINT)
inline constexpr int kExitSigterm = 143;  // stopped by SIGTERM (128 + SIGTERM)
inline constexpr int kExitPipe = 141;     // our stdout's reader went away (128 + SIGPIPE)

}  // namespace procpool
