#pragma once

// What the operator sees during a run: one line per event, each step's output streamed
// beneath it as it arrives, and a summary table at the end. Colours only on a terminal
// and never with NO_COLOR / --no-color.
//
// On a terminal (ConsoleOptions::live_status) the last line of the screen is a status
// line — step, phase, elapsed against budget, attempt — redrawn below every printed line
// and once a second by a ticker thread, so a quiet long step still shows time passing.
// Everything else is plain lines, as when the output goes to a file or a CI log.
//
// As a RunObserver it shows the engine's events: notes as lines, steps as the status line,
// output beneath the step.
//
// Thread-safety: the methods are called from the engine's thread; the ticker only redraws
// the status line. Both write under one mutex.

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "engine/observer.h"
#include "engine/output_lines.h"
#include "exec/output_sink.h"

namespace stagecraft::engine {

enum class Verbosity { kQuiet, kNormal, kVerbose };

struct ConsoleOptions {
  bool color = false;
  Verbosity verbosity = Verbosity::kNormal;
  bool live_status = false;  // draw the status line (terminals only)
  int width = 80;            // terminal columns, for truncating the status line
  // How often the ticker redraws the status line; zero: no ticker (tests).
  std::chrono::milliseconds tick{1000};
};

// What the status line shows.
struct StatusLine {
  int number = 0;  // step number, 1-based
  int total = 0;
  std::string step;
  std::string phase;
  std::optional<std::chrono::milliseconds> budget;
  int attempt = 1;
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

class Console : public RunObserver {
 public:
  Console(std::FILE* out, ConsoleOptions options);
  ~Console() override;
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

  // Starts showing `status` (its clock starts now); ClearStatus removes the line.
  void SetStatus(StatusLine status);
  void SetAttempt(int attempt);
  void ClearStatus();

  // RunObserver.
  void OnNote(NoteLevel level, std::string_view text) override;
  void OnStepStarted(const ItemRef& step, int total) override;
  void OnStepFinished(const ItemRef& step, const StepResult& result) override;
  void OnAttemptStarted(const ItemRef& item, int attempt) override;
  void OnOutput(Stream stream, std::string_view bytes) override;
  void OnAttemptFinished(const ItemRef& item, const AttemptEnd& end) override;
  void OnQuestion() override { ClearStatus(); }

 private:
  // Writes whole lines, lifting the status line out of the way and drawing it again.
  void Write(std::string_view lines);
  void DrawStatusLocked();
  std::string RenderStatusLocked() const;
  void Tick();

  void Print(std::string_view colour, std::string_view marker, std::string_view text);
  std::string Paint(std::string_view colour, std::string_view text) const;

  class OutputSink : public exec::OutputSink {
   public:
    explicit OutputSink(LineSplitter& splitter) : splitter_(splitter) {}
    void OnOutput(Stream stream, std::string_view bytes) override {
      splitter_.OnOutput(stream, bytes);
    }

   private:
    LineSplitter& splitter_;
  };

  std::FILE* out_;
  ConsoleOptions options_;
  LineSplitter splitter_;
  OutputSink output_sink_;

  std::mutex mu_;
  std::optional<StatusLine> status_;  // guarded by mu_
  std::chrono::steady_clock::time_point status_start_;
  bool status_drawn_ = false;  // guarded by mu_
  bool stopping_ = false;      // guarded by mu_
  std::condition_variable wake_;
  std::thread ticker_;
};

}  // namespace stagecraft::engine
