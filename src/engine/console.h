#pragma once

// What the operator sees during a run: one line per event, each step's output streamed
// beneath it as it arrives, and a summary table at the end. Colours only on a terminal
// and never with NO_COLOR / --no-color. Not thread-safe; owned by the caller of Engine.

#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "engine/output_lines.h"
#include "exec/output_sink.h"

namespace stagecraft::engine {

enum class Verbosity { kQuiet, kNormal, kVerbose };

struct ConsoleOptions {
  bool color = false;
  Verbosity verbosity = Verbosity::kNormal;
};

struct SummaryRow {
  std::string step;
  std::string status;  // "passed", "FAILED", ...
  std::string duration;
  std::string budget;
  int attempts = 0;
  bool bad = false;
  bool warn = false;
};

class Console {
 public:
  Console(std::FILE* out, ConsoleOptions options);
  Console(const Console&) = delete;
  Console& operator=(const Console&) = delete;

  void Heading(std::string_view text);
  void Info(std::string_view text);     // hidden with --quiet
  void Verbose(std::string_view text);  // only with --verbose
  void Pass(std::string_view text);
  void Fail(std::string_view text);    // shown even with --quiet
  void Warn(std::string_view text);    // shown even with --quiet
  void Detail(std::string_view text);  // indented block under a failure (diffs, excerpts)
  void Summary(const std::vector<SummaryRow>& rows, std::string_view verdict, bool ok);

  // Step output, already masked: each line printed under the step as it completes.
  exec::OutputSink& output() { return output_sink_; }
  void FlushOutput() { splitter_.Flush(); }

  bool quiet() const { return options_.verbosity == Verbosity::kQuiet; }

 private:
  void Print(std::string_view colour, std::string_view marker, std::string_view text);
  std::string Paint(std::string_view colour, std::string_view text) const;

  class OutputSink : public exec::OutputSink {
   public:
    explicit OutputSink(LineSplitter& splitter) : splitter_(splitter) {}
    void OnOutput(exec::Stream stream, std::string_view bytes) override {
      splitter_.OnOutput(stream, bytes);
    }

   private:
    LineSplitter& splitter_;
  };

  std::FILE* out_;
  ConsoleOptions options_;
  LineSplitter splitter_;
  OutputSink output_sink_;
};

}  // namespace stagecraft::engine
