#include "frontend/net/request_pool.h"

#include <string>
#include <utility>

namespace parley::frontend {
namespace {

// Moves every node of `map` into `spare` (up to `cap`; the rest are freed).
template <typename Map>
void Recycle(Map& map, std::vector<typename Map::node_type>& spare, size_t cap) {
  while (!map.empty() && spare.size() < cap) spare.push_back(map.extract(map.begin()));
  map.clear();
}

// Inserts key: value into `map`, reusing a spare node (and its strings' capacity) if any.
template <typename Map>
void Insert(Map& map, std::vector<typename Map::node_type>& spare, absl::string_view key,
            absl::string_view value) {
  if (spare.empty()) {
    map.emplace(std::string(key), std::string(value));
    return;
  }
  typename Map::node_type node = std::move(spare.back());
  spare.pop_back();
  node.key().assign(key.data(), key.size());
  node.mapped().assign(value.data(), value.size());
  map.insert(std::move(node));
}

}  // namespace

httplib::Request RequestPool::Take() {
  if (requests_.empty()) return httplib::Request();
  httplib::Request request = std::move(requests_.back());
  requests_.pop_back();
  return request;
}

void RequestPool::Clear(httplib::Request& request) {
  request.method.clear();
  request.path.clear();
  Recycle(request.headers, header_nodes_, kMaxNodes);
  if (request.body.capacity() > kMaxKeptBody) {
    std::string().swap(request.body);
  } else {
    request.body.clear();
  }
  request.remote_addr.clear();
  request.remote_port = -1;
  request.local_addr.clear();
  request.local_port = -1;
  request.version.clear();
  request.target.clear();
  Recycle(request.params, param_nodes_, kMaxNodes);
  request.files.clear();
  request.ranges.clear();
  if (!request.matches.empty()) request.matches = httplib::Match();
}

void RequestPool::Give(httplib::Request&& request) {
  if (requests_.size() >= kMaxRequests) return;
  Clear(request);
  requests_.push_back(std::move(request));
}

void RequestPool::AddHeader(httplib::Headers& headers, absl::string_view name,
                            absl::string_view value) {
  Insert(headers, header_nodes_, name, value);
}

void RequestPool::AddParam(httplib::Params& params, absl::string_view name,
                           absl::string_view value) {
  Insert(params, param_nodes_, name, value);
}

}  // namespace parley::frontend
