#ifndef PARLEY_TESTS_TESTING_PROMETHEUS_TEXT_H_
#define PARLEY_TESTS_TESTING_PROMETHEUS_TEXT_H_

#include <string>

namespace parley::testing {

// Reads Prometheus text with the Prometheus project's own parser (Debian's
// python3-prometheus-client, run by /usr/bin/python3) and answers what it understood, one
// "type name{k=v,...} value" line per sample with labels sorted. A parser error fails the
// calling test (ADD_FAILURE) and the error is answered.
std::string ParseWithPrometheusClient(const std::string& text);

// Runs a shell command; returns its exit status (-1 if it did not exit) and fills `output`
// with its stdout and stderr.
int RunCommand(const std::string& command, std::string* output = nullptr);

}  // namespace parley::testing

#endif  // PARLEY_TESTS_TESTING_PROMETHEUS_TEXT_H_
