// The optional TLS between frontend and broker, with a certificate authority this test makes
// with the openssl tool: mutual TLS works end to end (login, post, poll), and a frontend
// without TLS, or with a certificate from another CA, gets nowhere.
#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "tests/testing/child_process.h"
#include "tests/testing/prometheus_text.h"
#include "tests/testing/wait_for.h"

namespace parley {
namespace {

using ::parley::testing::ChildProcess;
using ::parley::testing::RunCommand;
using ::parley::testing::WaitFor;

// Makes `ca` (self-signed) and certificates signed by it in `dir`.
class TestCa {
 public:
  TestCa(std::string dir, std::string name) : dir_(std::move(dir)), name_(std::move(name)) {
    Run(absl::StrCat("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes",
                     " -days 2 -subj /CN=", name_, " -keyout ", Path("ca.key"), " -out ",
                     Path("ca.pem")));
  }

  std::string Path(const std::string& file) const {
    return absl::StrCat(dir_, "/", name_, "-", file);
  }

  // A certificate for `subject` (with these subjectAltNames), signed by the CA.
  void Issue(const std::string& subject, const std::string& alt_names) {
    std::ofstream(Path(subject + ".ext")) << "subjectAltName=" << alt_names << "\n";
    Run(absl::StrCat("openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes",
                     " -subj /CN=", subject, " -keyout ", Path(subject + ".key"), " -out ",
                     Path(subject + ".csr")));
    Run(absl::StrCat("openssl x509 -req -days 2 -in ", Path(subject + ".csr"), " -CA ",
                     Path("ca.pem"), " -CAkey ", Path("ca.key"), " -CAcreateserial -out ",
                     Path(subject + ".pem"), " -extfile ", Path(subject + ".ext")));
  }

  // Spelled as the issue and most operators write them; --tls_cert etc. work the same.
  std::vector<std::string> Flags(const std::string& subject, const std::string& ca_of) const {
    return {"--tls-cert=" + Path(subject + ".pem"), "--tls-key=" + Path(subject + ".key"),
            "--tls-ca=" + ca_of};
  }

 private:
  static void Run(const std::string& command) {
    std::string output;
    ASSERT_EQ(RunCommand(command, &output), 0) << command << "\n" << output;
  }

  std::string dir_;
  std::string name_;
};

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = absl::StrCat(::testing::TempDir(), "/parley-tls-", getpid());
    ASSERT_EQ(RunCommand("mkdir -p " + dir_), 0);
    ca_ = std::make_unique<TestCa>(dir_, "parley-ca");
    ca_->Issue("broker", "DNS:localhost,IP:127.0.0.1");
    ca_->Issue("frontend", "DNS:frontend");
    rogue_ = std::make_unique<TestCa>(dir_, "rogue-ca");
    rogue_->Issue("frontend", "DNS:frontend");

    std::vector<std::string> argv = {PARLEY_BROKER_BINARY, "--listen=127.0.0.1:0", "--threads=1",
                                     "--drain_delay=0s"};
    for (const std::string& flag : ca_->Flags("broker", ca_->Path("ca.pem"))) argv.push_back(flag);
    broker_ = std::make_unique<ChildProcess>(argv);
    broker_port_ = broker_->WaitForListeningPort();
    ASSERT_NE(broker_port_, 0) << broker_->Output();
  }

  void TearDown() override { RunCommand("rm -rf " + dir_); }

  // A frontend for the TLS broker (or the one at `broker_port`) with `flags`; its HTTP port,
  // or 0.
  int StartFrontend(const std::vector<std::string>& flags, int broker_port = 0) {
    std::vector<std::string> argv = {
        PARLEY_FRONTEND_BINARY, "--listen=127.0.0.1:0",
        absl::StrCat("--broker=127.0.0.1:", broker_port != 0 ? broker_port : broker_port_),
        "--broker_timeout=1s"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    frontends_.push_back(std::make_unique<ChildProcess>(argv));
    return frontends_.back()->WaitForListeningPort();
  }

  static int LogInStatus(int port) {
    httplib::Client client("127.0.0.1", port);
    httplib::Result login = client.Post("/api/session", R"({"name":"alice"})", "application/json");
    return login ? login->status : -1;
  }

  std::string dir_;
  std::unique_ptr<TestCa> ca_;
  std::unique_ptr<TestCa> rogue_;
  std::unique_ptr<ChildProcess> broker_;
  int broker_port_ = 0;
  std::vector<std::unique_ptr<ChildProcess>> frontends_;
};

TEST_F(TlsTest, MutualTlsCarriesTheWholeChat) {
  const int port = StartFrontend(ca_->Flags("frontend", ca_->Path("ca.pem")));
  ASSERT_NE(port, 0) << frontends_.back()->Output();
  httplib::Client client("127.0.0.1", port);
  httplib::Result login = client.Post("/api/session", R"({"name":"alice"})", "application/json");
  ASSERT_TRUE(login);
  ASSERT_EQ(login->status, 200) << login->body << frontends_.back()->Output();
  const std::string set_cookie = login->get_header_value("Set-Cookie");
  const httplib::Headers cookie = {{"Cookie", set_cookie.substr(0, set_cookie.find(';'))}};
  httplib::Result sent =
      client.Post("/api/messages", cookie, R"({"room":"lobby","text":"over tls","clientId":"t1"})",
                  "application/json");
  ASSERT_TRUE(sent);
  EXPECT_EQ(sent->status, 200) << sent->body;
  httplib::Result polled = client.Get("/api/poll?cursor=0&wait=1", cookie);
  ASSERT_TRUE(polled);
  EXPECT_EQ(polled->status, 200);
  EXPECT_NE(polled->body.find("over tls"), std::string::npos) << polled->body;

  std::string output;
  const std::string health = absl::StrCat(PARLEY_HEALTH_BINARY, " --grpc=127.0.0.1:", broker_port_);
  EXPECT_EQ(RunCommand(absl::StrCat(health, " --tls-ca=", ca_->Path("ca.pem"),
                                    " --tls-cert=", ca_->Path("frontend.pem"),
                                    " --tls_key=", ca_->Path("frontend.key")),
                       &output),
            0)
      << output;
  EXPECT_EQ(RunCommand(health + " --timeout=1s", &output), 1) << output;  // plaintext: refused
}

// Each refusal below is a 503, which a dead broker would also give; the handshake error gRPC
// logs, on the side that refused, shows it was TLS that refused.
TEST_F(TlsTest, APlaintextFrontendIsRefused) {
  const int port = StartFrontend({});
  ASSERT_NE(port, 0);
  EXPECT_EQ(LogInStatus(port), 503);
  EXPECT_TRUE(WaitFor([&] { return absl::StrContains(broker_->Output(), "wrong version number"); }))
      << broker_->Output();
}

TEST_F(TlsTest, AClientCertificateFromAnotherCaIsRefused) {
  const int port = StartFrontend(rogue_->Flags("frontend", ca_->Path("ca.pem")));
  ASSERT_NE(port, 0);
  EXPECT_EQ(LogInStatus(port), 503);
  EXPECT_TRUE(WaitFor([&] {
    return absl::StrContains(broker_->Output(), "certificate verify failed");
  })) << broker_->Output();
}

TEST_F(TlsTest, ABrokerCertificateFromAnotherCaIsNotTrusted) {
  const int port = StartFrontend(ca_->Flags("frontend", rogue_->Path("ca.pem")));
  ASSERT_NE(port, 0);
  EXPECT_EQ(LogInStatus(port), 503);
  EXPECT_TRUE(WaitFor([&] {
    return absl::StrContains(frontends_.back()->Output(), "certificate verify failed");
  })) << frontends_.back()->Output();
  EXPECT_FALSE(absl::StrContains(broker_->Output(), "certificate verify failed"))
      << broker_->Output();
}

TEST_F(TlsTest, ABrokerCertificateForAnotherNameIsRefused) {
  // Signed by the right CA, but for a name that is not the --broker host.
  ca_->Issue("misnamed", "DNS:elsewhere.example");
  std::vector<std::string> argv = {PARLEY_BROKER_BINARY, "--listen=127.0.0.1:0", "--threads=1",
                                   "--drain_delay=0s"};
  for (const std::string& flag : ca_->Flags("misnamed", ca_->Path("ca.pem"))) argv.push_back(flag);
  ChildProcess misnamed(argv);
  const int misnamed_port = misnamed.WaitForListeningPort();
  ASSERT_NE(misnamed_port, 0) << misnamed.Output();
  const int port = StartFrontend(ca_->Flags("frontend", ca_->Path("ca.pem")), misnamed_port);
  ASSERT_NE(port, 0);
  // The 503 carries gRPC's reason: the name check, not the CA, refused the broker.
  httplib::Client client("127.0.0.1", port);
  httplib::Result login = client.Post("/api/session", R"({"name":"alice"})", "application/json");
  ASSERT_TRUE(login);
  EXPECT_EQ(login->status, 503);
  EXPECT_TRUE(absl::StrContains(login->body, "not in peer certificate")) << login->body;
}

TEST_F(TlsTest, HalfGivenFlagsAreAClearStartupError) {
  ChildProcess broker(
      {PARLEY_BROKER_BINARY, "--listen=127.0.0.1:0", "--tls_cert=" + ca_->Path("broker.pem")});
  EXPECT_EQ(broker.WaitForExit(absl::Seconds(10)), 2);
  EXPECT_NE(broker.Output().find("--tls_cert and --tls_key go together"), std::string::npos)
      << broker.Output();
  ChildProcess frontend(
      {PARLEY_FRONTEND_BINARY, "--listen=127.0.0.1:0", "--tls_ca=" + dir_ + "/missing.pem"});
  EXPECT_EQ(frontend.WaitForExit(absl::Seconds(10)), 2);
  EXPECT_NE(frontend.Output().find("cannot read --tls_ca"), std::string::npos) << frontend.Output();
}

TEST(TlsFlagsTest, EveryProgramListsThemInItsHelp) {
  for (const char* program : {PARLEY_BROKER_BINARY, PARLEY_FRONTEND_BINARY, PARLEY_HEALTH_BINARY}) {
    ChildProcess help({program, "--help"});
    EXPECT_EQ(help.WaitForExit(absl::Seconds(10)), 1) << program;  // abseil's --help status
    for (const char* flag : {"--tls_cert", "--tls_key", "--tls_ca"}) {
      EXPECT_NE(help.Output().find(flag), std::string::npos) << program << " " << flag << "\n"
                                                             << help.Output();
    }
  }
}

}  // namespace
}  // namespace parley
