// The median run time of the jobs that succeeded so far: what GNU parallel's `--timeout N%` is
// relative to. Kept in bounded memory, however many jobs a batch has (GNU parallel bounds it
// too, with a remedian): a histogram of buckets 1% wide, so the median is within half a percent
// of the exact one.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

namespace procpool {

class RunTimeMedian {
 public:
  // One more run time, in seconds (below a microsecond counts as one).
  void add(double seconds);
  // The lower median (the middle run time, or the lower of the two middle ones, as GNU
  // parallel takes it), in seconds; nullopt before the first.
  std::optional<double> median() const;
  uint64_t count() const { return count_; }

 private:
  // Bucket 0 holds run times up to kLeast; bucket i > 0 those from kLeast * kRatio^(i-1) to
  // kLeast * kRatio^i; the last one everything longer (about 115 days and more).
  static constexpr double kLeast = 1e-6;
  static constexpr double kRatio = 1.01;
  static constexpr size_t kBuckets = 3010;

  std::array<uint64_t, kBuckets> counts_{};
  uint64_t count_ = 0;
  mutable std::optional<double> median_;  // cached until the next add
};

}  // namespace procpool
