#include "common/run_time_median.h"

#include <algorithm>
#include <cmath>

namespace procpool {

void RunTimeMedian::add(double seconds) {
  size_t bucket = 0;
  if (seconds > kLeast) {
    double i = std::ceil(std::log(seconds / kLeast) / std::log(kRatio));
    bucket = static_cast<size_t>(std::clamp(i, 1.0, static_cast<double>(kBuckets - 1)));
  }
  ++counts_[bucket];
  ++count_;
  median_.reset();
}

std::optional<double> RunTimeMedian::median() const {
  if (count_ == 0) return std::nullopt;
  if (median_) return median_;
  uint64_t rank = (count_ - 1) / 2;  // 0-based: the lower middle
  uint64_t seen = 0;
  size_t bucket = 0;
  for (; bucket < kBuckets; ++bucket) {
    seen += counts_[bucket];
    if (seen > rank) break;
  }
  // The bucket's geometric middle: within half a bucket (0.5%) of every run time in it.
  median_ = bucket == 0 ? kLeast : kLeast * std::pow(kRatio, static_cast<double>(bucket) - 0.5);
  return median_;
}

}  // namespace procpool
