#ifndef PARLEY_FRONTEND_NET_HTTP_RESPONSE_WRITER_H_
#define PARLEY_FRONTEND_NET_HTTP_RESPONSE_WRITER_H_

#include <httplib.h>

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace parley::frontend {

// The reason phrase of a status code ("Unknown" for codes without one here).
absl::string_view ReasonPhrase(int status);

// Header lines ("Name: value\r\n" each) for `headers`, to be written into every answer as they
// are: rendered once, not added to each response's header map.
std::string HeaderBlock(const std::vector<std::pair<std::string, std::string>>& headers);

// `response` as HTTP/1.1 bytes: status line (an unset status, -1, is 200), its headers (a
// Content-Length or Connection of its own is replaced), `header_block` (from HeaderBlock),
// Content-Length, Connection, and the body unless `head` (an answer to HEAD says the length of
// the body it leaves out), into `out` (replacing what it held; a connection reuses one buffer
// for all its answers). Any thread.
void WriteResponse(const httplib::Response& response, absl::string_view header_block, bool head,
                   bool keep_alive, std::string* out);

}  // namespace parley::frontend

#endif  // PARLEY_FRONTEND_NET_HTTP_RESPONSE_WRITER_H_
