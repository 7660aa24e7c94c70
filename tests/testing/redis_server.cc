#include "tests/testing/redis_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>

#include "absl/strings/str_cat.h"

namespace parley::testing {
namespace {

// A port the kernel just handed out and we let go of: free unless someone takes it meanwhile
// (Launch tries again with another if Redis cannot bind it).
int PickPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  int port = 0;
  if (fd >= 0 && bind(fd, reinterpret_cast<sockaddr*>(&address), length) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
    port = ntohs(address.sin_port);
  }
  if (fd >= 0) close(fd);
  return port;
}

void Render(const redisReply& reply, std::string* out) {
  switch (reply.type) {
    case REDIS_REPLY_ARRAY:
      for (size_t i = 0; i < reply.elements; ++i) {
        if (i > 0) out->append("\n");
        Render(*reply.element[i], out);
      }
      break;
    case REDIS_REPLY_INTEGER:
      absl::StrAppend(out, reply.integer);
      break;
    case REDIS_REPLY_NIL:
      out->append("(nil)");
      break;
    default:
      out->append(reply.str, reply.len);
  }
}

}  // namespace

RedisServer::RedisServer(Options options) : options_(std::move(options)) {
  std::string pattern = ::testing::TempDir() + "/parley-redis-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) {
    ADD_FAILURE() << "mkdtemp failed";
    return;
  }
  dir_ = pattern;
  for (int attempt = 0; attempt < 5 && process_ == nullptr; ++attempt) {
    port_ = PickPort();
    if (!Launch()) process_.reset();
  }
  if (process_ == nullptr) ADD_FAILURE() << "redis-server did not start";
}

RedisServer::~RedisServer() {
  Thaw();
  Stop();
  std::error_code ignored;
  if (!dir_.empty()) std::filesystem::remove_all(dir_, ignored);
}

std::string RedisServer::address() const { return absl::StrCat("127.0.0.1:", port_); }

bool RedisServer::Launch() {
  std::vector<std::string> argv = {"/usr/bin/redis-server",
                                   "--port",
                                   absl::StrCat(port_),
                                   "--bind",
                                   "127.0.0.1",
                                   "--dir",
                                   dir_,
                                   "--appendonly",
                                   "yes",
                                   "--appendfsync",
                                   options_.appendfsync_always ? "always" : "everysec",
                                   "--save",
                                   "",
                                   "--maxmemory-policy",
                                   "noeviction",
                                   "--daemonize",
                                   "no",
                                   "--logfile",
                                   "",
                                   "--protected-mode",
                                   "no"};
  if (!options_.password.empty()) {
    argv.push_back("--requirepass");
    argv.push_back(options_.password);
  }
  process_ = std::make_unique<ChildProcess>(argv);
  if (process_->WaitForLine("Ready to accept connections", absl::Seconds(20))) return true;
  process_->Signal(SIGKILL);
  process_->WaitForExit(absl::Seconds(5));
  return false;
}

void RedisServer::Kill() {
  if (process_ == nullptr) return;
  process_->Signal(SIGCONT);
  process_->Signal(SIGKILL);
  process_->WaitForExit(absl::Seconds(10));
  process_.reset();
}

void RedisServer::Stop() {
  if (process_ == nullptr) return;
  process_->Signal(SIGTERM);
  if (!process_->WaitForExit(absl::Seconds(20))) ADD_FAILURE() << "redis-server did not stop";
  process_.reset();
}

void RedisServer::Start() {
  if (process_ != nullptr) return;
  if (!Launch()) {
    ADD_FAILURE() << "redis-server did not start again on port " << port_ << ":\n"
                  << (process_ ? process_->Output() : "");
    process_.reset();
  }
}

void RedisServer::Freeze() {
  if (process_ != nullptr) process_->Signal(SIGSTOP);
}

void RedisServer::Thaw() {
  if (process_ != nullptr) process_->Signal(SIGCONT);
}

absl::StatusOr<std::string> RedisServer::Run(const std::vector<std::string>& command) {
  const timeval timeout = {5, 0};
  redisContext* context = redisConnectWithTimeout("127.0.0.1", port_, timeout);
  if (context == nullptr || context->err != 0) {
    const std::string error = context != nullptr ? context->errstr : "out of memory";
    if (context != nullptr) redisFree(context);
    return absl::UnavailableError(error);
  }
  redisSetTimeout(context, timeout);
  auto send = [&](const std::vector<std::string>& args) {
    std::vector<const char*> argv;
    std::vector<size_t> lengths;
    for (const std::string& arg : args) {
      argv.push_back(arg.data());
      lengths.push_back(arg.size());
    }
    return static_cast<redisReply*>(
        redisCommandArgv(context, static_cast<int>(argv.size()), argv.data(), lengths.data()));
  };
  if (!options_.password.empty()) {
    if (redisReply* auth = send({"AUTH", options_.password})) freeReplyObject(auth);
  }
  redisReply* reply = send(command);
  absl::StatusOr<std::string> result;
  if (reply == nullptr) {
    result = absl::UnavailableError(context->errstr);
  } else if (reply->type == REDIS_REPLY_ERROR) {
    result = absl::InternalError(std::string(reply->str, reply->len));
  } else {
    std::string text;
    Render(*reply, &text);
    result = text;
  }
  if (reply != nullptr) freeReplyObject(reply);
  redisFree(context);
  return result;
}

}  // namespace parley::testing
