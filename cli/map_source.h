// `procpool map`'s jobs: the template expanded over the inputs, one input a job or several
// (-n, -N, -L, -X, -m: as many as fit the command-line limit), in input order or shuffled.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "cli/map_inputs.h"
#include "cli/pipe_blocks.h"
#include "cli/sources.h"
#include "common/job_file.h"

namespace procpool {

// The batch of `procpool map WORDS...` with `options`, for a pool of `slots` workers. Throws
// UsageError for flags that do not go together, InputError for input a person must fix.
std::unique_ptr<JobSource> map_source(const std::vector<std::string>& words,
                                      const MapOptions& options, bool null_sep, int slots,
                                      const JobDefaults& defaults);

// --pipe's blocks as the flags ask for them; throws UsageError for flags that do not go with
// --pipe (or that need it, without it).
BlockSpec plan_pipe(const MapOptions& options, bool null_sep);

// The same from parsed parts (tests).
std::unique_ptr<JobSource> map_source(MapInputs inputs, const MapPlan& plan,
                                      const JobDefaults& defaults);

}  // namespace procpool
