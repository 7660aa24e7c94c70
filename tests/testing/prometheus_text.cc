#include "tests/testing/prometheus_text.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "absl/strings/str_cat.h"

namespace parley::testing {

int RunCommand(const std::string& command, std::string* output) {
  FILE* pipe = popen(absl::StrCat(command, " 2>&1").c_str(), "r");
  if (pipe == nullptr) return -1;
  char buffer[4096];
  std::string text;
  while (fgets(buffer, sizeof(buffer), pipe) != nullptr) text += buffer;
  const int status = pclose(pipe);
  if (output != nullptr) *output = text;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string ParseWithPrometheusClient(const std::string& text) {
  const std::string path = absl::StrCat(::testing::TempDir(), "/prometheus-", getpid(), ".txt");
  std::ofstream(path) << text;
  std::string output;
  const int status = RunCommand(
      absl::StrCat("/usr/bin/python3 -c 'import sys\n"
                   "from prometheus_client.parser import text_string_to_metric_families as parse\n"
                   "for family in parse(open(sys.argv[1]).read()):\n"
                   "  for s in family.samples:\n"
                   "    labels = \",\".join(f\"{k}={v}\" for k, v in sorted(s.labels.items()))\n"
                   "    print(f\"{family.type} {s.name}{{{labels}}} {s.value}\")\n' ",
                   path),
      &output);
  // A parse error anywhere fails the calling test, even after the lines it looks for.
  if (status != 0) ADD_FAILURE() << "the Prometheus parser refused the text:\n" << output;
  return output;
}

}  // namespace parley::testing
