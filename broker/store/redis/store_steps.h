#ifndef PARLEY_BROKER_STORE_REDIS_STORE_STEPS_H_
#define PARLEY_BROKER_STORE_REDIS_STORE_STEPS_H_

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "broker/core/done_callback.h"

// The pieces the Redis store's operations are chained from: a step answers through its own
// `done`, once, on whichever thread its call answered on. Internal to broker/store/redis.
namespace parley::broker::redis::steps {

// A time or duration as chat.lua takes it: milliseconds.
inline std::string Ms(absl::Time t) { return absl::StrCat(absl::ToUnixMillis(t)); }
inline std::string Ms(absl::Duration d) { return absl::StrCat(absl::ToInt64Milliseconds(d)); }

// Hands a failure on to `done` (the step is over then); false for a success.
template <typename T, typename D>
bool PassFailure(const absl::StatusOr<T>& result, D& done) {
  if (result.ok()) return false;
  std::move(done)(result.status());
  return true;
}

// A step for a reply that finds its thing or not (nullopt): the thing, or `missing` (the
// chat error that says which room or user is not there).
template <typename T>
Done<std::optional<T>> OrMissing(absl::Status missing, Done<T> done) {
  return [missing = std::move(missing),
          done = std::move(done)](absl::StatusOr<std::optional<T>> found) mutable {
    if (PassFailure(found, done)) return;
    if (!found->has_value()) {
      std::move(done)(std::move(missing));
    } else {
      std::move(done)(std::move(**found));
    }
  };
}

inline void Append(std::vector<std::string>& to, std::vector<std::string> values) {
  to.insert(to.end(), std::make_move_iterator(values.begin()),
            std::make_move_iterator(values.end()));
}

// Runs `count` steps, each answering through its own `done`; `then` runs once after the last,
// with the first failure (by step) or every value. Steps may answer on any thread.
template <typename T>
class Gather : public std::enable_shared_from_this<Gather<T>> {
 public:
  using Then = absl::AnyInvocable<void(absl::StatusOr<std::vector<T>>)>;

  static std::shared_ptr<Gather> Make(size_t count, Then then) {
    auto gather = std::shared_ptr<Gather>(new Gather(count, std::move(then)));
    if (count == 0) gather->Finish();
    return gather;
  }
  Done<T> Step(size_t i) {
    return [self = this->shared_from_this(), i](absl::StatusOr<T> result) {
      self->results_[i] = std::move(result);
      if (self->left_.fetch_sub(1) == 1) self->Finish();
    };
  }

 private:
  Gather(size_t count, Then then)
      : results_(count, absl::UnknownError("not answered")), left_(count), then_(std::move(then)) {}
  void Finish() {
    std::vector<T> values;
    values.reserve(results_.size());
    for (absl::StatusOr<T>& result : results_) {
      if (!result.ok()) {
        std::move(then_)(result.status());
        return;
      }
      values.push_back(std::move(*result));
    }
    std::move(then_)(std::move(values));
  }

  std::vector<absl::StatusOr<T>> results_;
  std::atomic<size_t> left_;
  Then then_;
};

// StatusDone steps for a Gather<bool>.
inline StatusDone AsStatusStep(Done<bool> step) {
  return [step = std::move(step)](absl::Status status) mutable {
    if (status.ok()) {
      std::move(step)(true);
    } else {
      std::move(step)(status);
    }
  };
}

// Runs `count` StatusDone steps; `then` with the first failure or OK.
inline std::shared_ptr<Gather<bool>> AllOf(size_t count, StatusDone then) {
  return Gather<bool>::Make(
      count, [then = std::move(then)](absl::StatusOr<std::vector<bool>> all) mutable {
        std::move(then)(all.status());
      });
}

}  // namespace parley::broker::redis::steps

#endif  // PARLEY_BROKER_STORE_REDIS_STORE_STEPS_H_
