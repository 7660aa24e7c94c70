#ifndef PARLEY_BENCH_LOADGEN_LOAD_RUN_H_
#define PARLEY_BENCH_LOADGEN_LOAD_RUN_H_

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "bench/loadgen/delivery_tracker.h"
#include "bench/loadgen/http_response_parser.h"
#include "bench/loadgen/process_stats.h"
#include "bench/loadgen/protocol.h"

namespace parley::bench {

struct LoadOptions {
  std::string host = "127.0.0.1";
  int port = 8080;
  std::string scenario = "custom";
  int subscribers = 10;
  double rate = 1;  // messages per second; 0: burst (as fast as the server accepts)
  double duration_s = 20;
  double drain_s = 10;             // after the last publish, wait at most this for deliveries
  int setup_window = 256;          // setup requests in flight at once
  int burst_concurrency = 4;       // publisher connections in burst mode
  int max_publishers = 64;         // open-loop: connections for publishes still in flight
  std::vector<pid_t> server_pids;  // the broker first (storm reports it on its own)
  // One of server_pids that is the shared store (redis-server), also reported on its own.
  pid_t store_pid = 0;
  // A login storm instead of publishing (RunStorm): subscribers log in `setup_window` at a
  // time, each polling as soon as its login is answered; then all reconnect as pages do.
  bool storm = false;
};

// One scenario against one server: subscribers set up, parked, then a publisher at a fixed
// rate (open loop) or in a burst, and every delivery checked. Everything runs on the calling
// thread in one epoll loop. Run() returns the report as JSON.
class LoadRun {
 public:
  LoadRun(LoadOptions options, std::unique_ptr<Protocol> protocol);
  ~LoadRun();
  std::string Run();
  // The storm: see LoadOptions::storm. Returns the report as JSON.
  std::string RunStorm();
  std::string Summary() const { return summary_; }

 private:
  // The store process alone (zero when there is none).
  ProcessSample SampleStore() const;
  struct Connection;
  enum class Phase { kPublisherLogin, kSetup, kPolling };

  // `track`: the subscriber's poll connection (a storm's reconnect requests use others).
  Connection* Open(bool subscriber, int index, bool track = true);
  void RunSetupStep(int step);
  void Close(Connection* connection);
  void Send(Connection* connection, const HttpRequest& request);
  void OnReadable(Connection* connection);
  void OnWritable(Connection* connection);
  void OnResponse(Connection* connection, const HttpResponse& response);
  void OnSubscriberResponse(Connection* connection, const HttpResponse& response);
  void OnPublisherResponse(Connection* connection, const HttpResponse& response);
  void OnBroken(Connection* connection, const std::string& kind);
  void StartSetupStep();
  void FillSetupWindow();
  void SendPoll(int subscriber);
  void PublishNext();
  void Loop(const std::function<bool()>& done, double timeout_s);
  void CheckRetries();
  void Error(const std::string& kind) { ++errors_[kind]; }

  const LoadOptions options_;
  const std::unique_ptr<Protocol> protocol_;
  const std::string host_header_;
  int epoll_ = -1;
  Phase phase_ = Phase::kPublisherLogin;
  std::vector<SubscriberState> states_;
  std::vector<Connection*> subscriber_connections_;
  std::vector<int64_t> retry_at_ns_;  // subscribers waiting to re-poll after an error
  std::vector<bool> failed_;          // setup failed for good: the subscriber sits out
  std::vector<int> setup_attempts_;
  std::vector<Connection*> publishers_;
  std::vector<std::unique_ptr<Connection>> owned_;
  int setup_step_ = 0;
  int setup_next_ = 0;
  int setup_in_flight_ = 0;
  int setup_done_ = 0;
  bool setup_has_requests_ = false;
  int polls_started_ = 0;
  bool publisher_ready_ = false;
  int next_sequence_ = 0;
  int publishes_in_flight_ = 0;
  bool publishing_ = false;
  std::unique_ptr<DeliveryTracker> tracker_;
  std::map<std::string, int64_t> errors_;
  std::string summary_;
  int64_t polls_answered_ = 0;
  // Storm: the broker's CPU seconds each time another 1,000 logins were answered.
  std::vector<std::pair<int, double>> login_curve_;
};

}  // namespace parley::bench

#endif  // PARLEY_BENCH_LOADGEN_LOAD_RUN_H_
