#ifndef PARLEY_TESTS_TESTING_RAW_CONNECTION_H_
#define PARLEY_TESTS_TESTING_RAW_CONNECTION_H_

#include <netinet/in.h>

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace parley::testing {

// A plain TCP connection to a loopback port, for requests no HTTP client library would send:
// trickled, oversized, reset mid-way. Used by one thread at a time.
class RawConnection {
 public:
  // Connects to 127.0.0.1:port from `source` (a host-order IPv4 address, another 127/8 one
  // for more local ports than one address has); ok() says whether it did, and errno why not.
  explicit RawConnection(int port, uint32_t source = INADDR_LOOPBACK);
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool ok() const { return fd_ >= 0; }
  // Sends all of `bytes`; false if the peer has closed or reset the connection.
  bool Send(absl::string_view bytes);
  // Closes the writing side (the peer reads end of input); false if it could not.
  bool CloseWrite();
  // Reads until the peer closes (true) or `timeout` passes (false); what came is in received().
  bool ReadUntilClosed(absl::Duration timeout);
  // Reads until received() holds `count` times `needle` (true), the peer closes or `timeout`
  // passes (false).
  bool ReadUntilContains(absl::string_view needle, absl::Duration timeout, int count = 1);
  // True when the peer has closed its side (EOF or reset), without blocking.
  bool PeerClosed();
  const std::string& received() const { return received_; }
  // Closes with a TCP reset instead of a FIN.
  void Reset();

 private:
  enum class ReadResult { kData, kClosed, kTimedOut };
  // Waits for bytes until `give_up` and appends them to received_.
  ReadResult ReadOnce(absl::Time give_up);
  // Waits for a connect a signal interrupted to finish; false (errno set) if it failed.
  bool FinishInterruptedConnect();

  int fd_ = -1;
  std::string received_;
};

}  // namespace parley::testing

#endif  // PARLEY_TESTS_TESTING_RAW_CONNECTION_H_
