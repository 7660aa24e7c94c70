#ifndef PARLEY_FRONTEND_NET_REQUEST_POOL_H_
#define PARLEY_FRONTEND_NET_REQUEST_POOL_H_

#include <httplib.h>

#include <cstddef>
#include <thread>
#include <vector>

#include "absl/strings/string_view.h"

namespace parley::frontend {

// The storage of requests that have ended, kept for the next ones on one loop, as nginx's
// pools are: httplib::Request objects whose strings keep their capacity, and the nodes of
// their header and query maps. A connection's parser fills a request taken from here and the
// exchange that carried it gives it back when it ends, so a steady stream of requests does
// not allocate for their heads. What is kept is bounded (kMaxRequests, kMaxNodes, bodies up
// to kMaxKeptBody): a burst frees what it needed beyond that.
//
// Thread: the loop's (Bind() from it before use). OnOwnerThread() may be asked anywhere.
class RequestPool {
 public:
  static constexpr size_t kMaxRequests = 2048;
  static constexpr size_t kMaxNodes = 8 * kMaxRequests;
  static constexpr size_t kMaxKeptBody = 4 * 1024;

  // The calling thread becomes the owner. Before any exchange can see the pool.
  void Bind() { owner_ = std::this_thread::get_id(); }
  bool OnOwnerThread() const { return owner_ == std::this_thread::get_id(); }

  // An empty request (recycled if one is kept).
  httplib::Request Take();
  // Empties `request` for reuse: its map nodes come here, its strings keep their capacity.
  void Clear(httplib::Request& request);
  // Clear(request), then keeps it for Take().
  void Give(httplib::Request&& request);

  // Adds name: value to `headers` (or `params`), in a recycled node when one is kept.
  void AddHeader(httplib::Headers& headers, absl::string_view name, absl::string_view value);
  void AddParam(httplib::Params& params, absl::string_view name, absl::string_view value);

  size_t kept_requests() const { return requests_.size(); }

 private:
  std::thread::id owner_;
  std::vector<httplib::Request> requests_;
  std::vector<httplib::Headers::node_type> header_nodes_;
  std::vector<httplib::Params::node_type> param_nodes_;
};

}  // namespace parley::frontend

#endif  // PARLEY_FRONTEND_NET_REQUEST_POOL_H_
