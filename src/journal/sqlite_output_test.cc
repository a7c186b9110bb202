// SqliteJournal output: buffering, reading back, side files (sqlite_output.cc).

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "journal/output_files.h"
#include "journal/sqlite_journal.h"
#include "journal/test_util.h"

namespace stagecraft::journal {
namespace {

using namespace ::stagecraft::journal::testing;
using ::testing::MatchesRegex;

// --- Output ---

TEST_F(SqliteJournalRunTest, ManySmallAppendsReadBackInOrderByteExactIncludingNul) {
  AttemptRecord first = BeginOrDie(*journal, run.id, "a");
  std::string expected_all;
  std::string expected_stdout;
  for (int i = 0; i < 20'000; ++i) {
    std::string piece = fmt::format("line {}", i);
    piece.push_back('\0');
    piece.push_back(static_cast<char>(i & 0xff));
    piece.push_back('\n');
    // Mostly stdout, with stderr interleaved now and then.
    Stream stream = i % 97 == 0 ? Stream::kStderr : Stream::kStdout;
    ASSERT_TRUE(journal->AppendOutput(first.id, stream, piece).ok());
    expected_all += piece;
    if (stream == Stream::kStdout) expected_stdout += piece;
  }
  ASSERT_TRUE(journal->EndAttempt(first.id, {}).ok());
  AttemptRecord second = BeginOrDie(*journal, run.id, "b");
  ASSERT_TRUE(journal->AppendOutput(second.id, Stream::kStdout, std::string(3, '\0')).ok());
  expected_all += std::string(3, '\0');
  ASSERT_TRUE(journal->EndAttempt(second.id, {}).ok());

  EXPECT_EQ(ReadAll(*journal, RunOutput(run.id)), expected_all);
  OutputQuery only_stdout = RunOutput(run.id);
  only_stdout.step_key = "a";
  only_stdout.stream = Stream::kStdout;
  EXPECT_EQ(ReadAll(*journal, only_stdout), expected_stdout);

  // Batched: ~20k appends became a few hundred rows (a row per stream switch or 64 KiB).
  RawDb raw(journal->path());
  int rows = std::stoi(raw.Query("SELECT count(*) FROM output"));
  EXPECT_LT(rows, 500);
  EXPECT_GT(rows, 200);  // 206 stream switches
}

TEST_F(SqliteJournalRunTest, OutputChunksCarryTheirOriginAndSeq) {
  AttemptRecord a1 = BeginOrDie(*journal, run.id, "a");
  ASSERT_TRUE(journal->AppendOutput(a1.id, Stream::kStdout, "out1", 111).ok());
  ASSERT_TRUE(journal->AppendOutput(a1.id, Stream::kStderr, "err1", 112).ok());
  ASSERT_TRUE(journal->EndAttempt(a1.id, Outcome(StepStatus::kFailed)).ok());
  AttemptRecord a2 = BeginOrDie(*journal, run.id, "a");
  ASSERT_TRUE(journal->AppendOutput(a2.id, Stream::kStdout, "out2", 113).ok());
  ASSERT_TRUE(journal->EndAttempt(a2.id, {}).ok());

  std::vector<OutputChunk> chunks = ReadChunks(*journal, RunOutput(run.id));
  ASSERT_EQ(chunks.size(), 3u);
  EXPECT_EQ(chunks[0].bytes, "out1");
  EXPECT_EQ(chunks[0].stream, Stream::kStdout);
  EXPECT_EQ(chunks[0].at, 111);
  EXPECT_EQ(chunks[0].step_key, "a");
  EXPECT_EQ(chunks[0].attempt, 1);
  EXPECT_EQ(chunks[0].attempt_id, a1.id);
  EXPECT_EQ(chunks[0].run_id, run.id);
  EXPECT_EQ(chunks[1].stream, Stream::kStderr);
  EXPECT_EQ(chunks[2].attempt, 2);
  EXPECT_LT(chunks[0].seq, chunks[1].seq);
  EXPECT_LT(chunks[1].seq, chunks[2].seq);

  // `logs -f` continues after the last seq it printed.
  OutputQuery tail = RunOutput(run.id);
  tail.after_seq = chunks[1].seq;
  EXPECT_EQ(ReadAll(*journal, tail), "out2");
  OutputQuery second_attempt = RunOutput(run.id);
  second_attempt.attempt_id = a2.id;
  EXPECT_EQ(ReadAll(*journal, second_attempt), "out2");
  OutputQuery other_step = RunOutput(run.id);
  other_step.step_key = "b";
  EXPECT_EQ(ReadAll(*journal, other_step), "");
}

TEST_F(SqliteJournalRunTest, ReadOutputStopsWhenTheCallbackSaysSo) {
  AttemptRecord attempt = BeginOrDie(*journal, run.id, "a");
  for (auto [stream, bytes] :
       {std::pair{Stream::kStdout, "1"}, {Stream::kStderr, "2"}, {Stream::kStdout, "3"}})
    ASSERT_TRUE(journal->AppendOutput(attempt.id, stream, bytes).ok());
  int calls = 0;
  ASSERT_TRUE(
      journal->ReadOutput(RunOutput(run.id), [&](const OutputChunk&) { return ++calls < 2; }).ok());
  EXPECT_EQ(calls, 2);
}

// A flush interval no test waits for.
constexpr Millis kNever{60'000};

// Scratch settings in `dir` whose buffer is written when it reaches `flush_bytes` or its
// oldest byte is `flush_interval` old.
SqliteJournal::Options Flushing(const std::string& dir, Millis flush_interval,
                                size_t flush_bytes = SqliteJournal::Options().flush_bytes) {
  SqliteJournal::Options options = ScratchOptions(dir);
  options.flush_bytes = flush_bytes;
  options.flush_interval = flush_interval;
  return options;
}

TEST_F(SqliteJournalOptionsTest, OutputStaysBufferedUntilEndAttemptWhenBelowThresholds) {
  Open(Flushing(dir.path(), kNever));
  ASSERT_TRUE(Append(Stream::kStdout, "hello\n").ok());
  EXPECT_EQ(Read(), "");
  ASSERT_TRUE(journal->EndAttempt(attempt.id, {}).ok());
  EXPECT_EQ(Read(), "hello\n");
}

TEST_F(SqliteJournalOptionsTest, OutputIsWrittenOnceTheBufferReachesFlushBytes) {
  Open(Flushing(dir.path(), kNever, 1024));
  ASSERT_TRUE(Append(Stream::kStdout, std::string(1000, 'x')).ok());
  EXPECT_EQ(Read().size(), 0u);
  ASSERT_TRUE(Append(Stream::kStdout, std::string(24, 'y')).ok());
  EXPECT_EQ(Read().size(), 1024u);
}

TEST_F(SqliteJournalOptionsTest, OutputOlderThanTheIntervalIsWrittenByTheNextAppend) {
  Open(Flushing(dir.path(), Millis(200)));
  // A step printing a line now and then: each line reaches `logs -f` with the next one,
  // not only when the step ends.
  ASSERT_TRUE(Append(Stream::kStdout, "waiting for ELB...\n").ok());
  EXPECT_EQ(Read(), "");
  std::this_thread::sleep_for(std::chrono::milliseconds(250));
  ASSERT_TRUE(Append(Stream::kStdout, "still waiting\n").ok());
  EXPECT_EQ(Read(), "waiting for ELB...\nstill waiting\n");
}

TEST_F(SqliteJournalOptionsTest, BatchesKeepOrderAndEndAttemptWritesTheRest) {
  // A batch every few appends.
  Open(Flushing(dir.path(), SqliteJournal::Options().flush_interval, 1000));
  std::string expected;
  for (int i = 0; i < 2000; ++i) {
    std::string line = fmt::format("line {} of a\n", i);
    expected += line;
    ASSERT_TRUE(Append(i % 3 ? Stream::kStdout : Stream::kStderr, line).ok());
  }
  ASSERT_TRUE(journal->EndAttempt(attempt.id, Outcome(StepStatus::kSucceeded)).ok());
  // Durable: everything appended before EndAttempt is readable once it returns.
  EXPECT_EQ(Read(), expected);

  AttemptRecord second = BeginOrDie(*journal, run.id, "b");
  ASSERT_TRUE(journal->AppendOutput(second.id, Stream::kStdout, "after\n").ok());
  ASSERT_TRUE(journal->FlushOutput().ok());
  EXPECT_EQ(Read(), expected + "after\n");
}

// `options` with 64 pages of 4 KiB: room for the schema and a run, not for 1 MiB of output.
SqliteJournal::Options Capped(SqliteJournal::Options options) {
  options.max_pages = 64;
  return options;
}

std::string Lost(const std::string& path, size_t bytes) {
  return fmt::format("journal: disk full writing {}; {} bytes of output were not journaled", path,
                     bytes);
}

TEST_F(SqliteJournalOptionsTest, DiskFullIsReportedClearlyAndStepRecordsStillWork) {
  Open(Capped(ScratchOptions(dir.path())));
  Status status = journal->AppendOutput(attempt.id, Stream::kStdout, std::string(1 << 20, 'x'));
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.message(), Lost(dir.path() + "/journal.db", 1 << 20));
  // The lost batch does not poison what follows.
  EXPECT_TRUE(journal->EndAttempt(attempt.id, Outcome(StepStatus::kFailed)).ok());
  EXPECT_TRUE(journal->FinishRun(run.id, RunStatus::kFailed, 1).ok());

  // A write that cannot fit at all reports the same way.
  RunRecord big = SampleRun();
  big.scope = {{"BLOB", std::string(1 << 20, 'y')}};
  EXPECT_EQ(journal->CreateRun(big).error(),
            "journal: disk full writing " + dir.path() + "/journal.db");
}

TEST_F(SqliteJournalOptionsTest, OutputLostDuringADurableCallIsReportedByTheNextFlush) {
  Open(Capped(Flushing(dir.path(), kNever, 8 << 20)));  // the append below stays buffered
  ASSERT_TRUE(journal->AppendOutput(attempt.id, Stream::kStdout, std::string(1 << 20, 'x')).ok());
  // EndAttempt must succeed: the step record matters more than the output it carried.
  ASSERT_TRUE(journal->EndAttempt(attempt.id, Outcome(StepStatus::kSucceeded)).ok());
  EXPECT_EQ(journal->FlushOutput().message(), Lost(journal->path(), 1 << 20));
  EXPECT_TRUE(journal->FlushOutput().ok());  // reported once
}

TEST_F(SqliteJournalOptionsTest, OutputLostToAFullDiskIsReportedByTheAppendThatWroteIt) {
  SqliteJournal::Options options = ScratchOptions(dir.path());
  options.flush_bytes = 64 * 1024;
  Open(Capped(options));
  std::string block(16 * 1024, 'x');
  Status lost = Status::Ok();
  for (int i = 0; i < 64 && lost.ok(); ++i)
    lost = journal->AppendOutput(attempt.id, Stream::kStdout, block);
  EXPECT_THAT(lost.message(), MatchesRegex("journal: disk full writing .*; [0-9]+ bytes of "
                                           "output were not journaled"));
  EXPECT_TRUE(journal->EndAttempt(attempt.id, Outcome(StepStatus::kFailed)).ok());
}

// Appends eight 64 KiB blocks of 'a' to 'h' to the attempt's stdout, one append each (a
// row each when flush_bytes is 64 KiB), and returns them joined.
std::string AppendLetterRows(Journal& journal, int64_t attempt_id) {
  std::string all;
  for (char fill = 'a'; fill < 'i'; ++fill) {
    std::string row(64 * 1024, fill);
    all += row;
    Status status = journal.AppendOutput(attempt_id, Stream::kStdout, row);
    EXPECT_TRUE(status.ok()) << status.message();
  }
  return all;
}

// Settings that send all but an attempt's first 64 KiB to its side file.
SqliteJournal::Options SideFileOptions(const std::string& dir) {
  SqliteJournal::Options options = Flushing(dir, kNever, 64 * 1024);
  options.inline_output_bytes = 64 * 1024;
  return options;
}

// A journal with `options` and a run whose step `big` printed AppendLetterRows's eight
// rows, then whose step `small` printed "done\n".
struct BigStep {
  explicit BigStep(const SqliteJournal::Options& options, bool small_step = true)
      : journal(OpenOrDie(options)),
        run(CreateOrDie(*journal)),
        attempt(BeginOrDie(*journal, run.id, "big")),
        output(AppendLetterRows(*journal, attempt.id)) {
    EXPECT_TRUE(journal->EndAttempt(attempt.id, {}).ok());
    if (!small_step) return;
    AttemptRecord small = BeginOrDie(*journal, run.id, "small");
    EXPECT_TRUE(journal->AppendOutput(small.id, Stream::kStdout, "done\n").ok());
    EXPECT_TRUE(journal->EndAttempt(small.id, {}).ok());
  }
  std::unique_ptr<SqliteJournal> journal;
  RunRecord run;
  AttemptRecord attempt;
  std::string output;
};

// Whether the big step's rows are inline (one row per append) or all but the first in its
// side file, a tail query leaves out the earlier rows and counts their bytes.
class TailQueryTest : public ::testing::TestWithParam<bool> {};

TEST_P(TailQueryTest, LeavesOutEarlierChunksAndCountsThem) {
  TempDir dir;
  SqliteJournal::Options options =
      GetParam() ? SideFileOptions(dir.path()) : ScratchOptions(dir.path());
  options.flush_bytes = 64 * 1024;  // one full row per append
  BigStep big(options);
  RawDb raw(big.journal->path());
  ASSERT_EQ(raw.Query("SELECT count(*) FROM output WHERE file_offset IS NOT NULL"),
            GetParam() ? "7" : "0");

  OutputQuery query = RunOutput(big.run.id);
  query.tail_bytes = 100 * 1024;  // ends inside the second-to-last row, which is kept whole
  std::vector<OutputChunk> chunks = ReadChunks(*big.journal, query);
  ASSERT_EQ(chunks.size(), 3u);
  EXPECT_EQ(chunks[0].step_key, "big");
  EXPECT_EQ(chunks[1].step_key, "big");
  EXPECT_EQ(chunks[0].skipped_before, 6 * 64 * 1024);
  EXPECT_EQ(chunks[0].bytes + chunks[1].bytes, big.output.substr(6 * 64 * 1024));
  EXPECT_EQ(chunks[1].skipped_before, 0);
  EXPECT_EQ(chunks[2].step_key, "small");
  EXPECT_EQ(chunks[2].bytes, "done\n");
  EXPECT_EQ(chunks[2].skipped_before, 0);

  // A tail longer than the output leaves nothing out.
  query.tail_bytes = 1 << 20;
  EXPECT_EQ(ReadAll(*big.journal, query), big.output + "done\n");
}

INSTANTIATE_TEST_SUITE_P(InlineAndSideFile, TailQueryTest, ::testing::Bool());

TEST_F(SqliteJournalOptionsTest, DurableOutputReadsBackWholeFromRowsAndSideFile) {
  SqliteJournal::Options options = Durable();
  Open(options);
  constexpr size_t kTotal = 8 << 20;
  std::string expected;
  for (int i = 0; expected.size() < kTotal; ++i) {
    std::string line = fmt::format("{:>4095}\n", i);
    expected += line;
    ASSERT_TRUE(journal->AppendOutput(attempt.id, Stream::kStdout, line).ok());
  }
  ASSERT_TRUE(journal->EndAttempt(attempt.id, {}).ok());
  EXPECT_TRUE(ReadAll(*journal, RunOutput(run.id)) == expected);  // megabytes: no diff
  // All but the first MiB or so went to the side file (inline output is counted in rows).
  size_t in_file = std::filesystem::file_size(OutputFilePath(dir.path(), attempt.id));
  EXPECT_LE(in_file, expected.size() - options.inline_output_bytes);
  EXPECT_GE(in_file, expected.size() - options.inline_output_bytes - 64 * 1024);
}

TEST_F(SqliteJournalRunTest, LargeOutputReadsBackComplete) {
  AttemptRecord attempt = BeginOrDie(*journal, run.id, "a");
  std::string block(4096, 'z');
  block[0] = '\0';
  constexpr size_t kTotal = 8 << 20;
  for (size_t written = 0; written < kTotal; written += block.size())
    ASSERT_TRUE(journal->AppendOutput(attempt.id, Stream::kStdout, block).ok());
  ASSERT_TRUE(journal->EndAttempt(attempt.id, {}).ok());

  size_t read = 0;
  size_t chunks = 0;
  ASSERT_TRUE(journal
                  ->ReadOutput(RunOutput(run.id),
                               [&](const OutputChunk& chunk) {
                                 read += chunk.bytes.size();
                                 ++chunks;
                                 return true;
                               })
                  .ok());
  EXPECT_EQ(read, kTotal);
  EXPECT_EQ(chunks, kTotal / (64 * 1024));  // full 64 KiB rows
}

// --- Output in side files ---

TEST_F(SqliteJournalOptionsTest, OutputPastTheInlineShareGoesToASideFileAndReadsBackInSeqOrder) {
  SqliteJournal::Options options = SideFileOptions(dir.path());
  options.flush_bytes = 32 * 1024;  // many batches, most holding both streams
  Open(options);
  std::string all;
  std::string by_stream[2];
  for (int i = 0; i < 20'000; ++i) {
    std::string line = fmt::format("line {}", i);
    line.push_back('\0');
    line.push_back('\n');
    Stream stream = i % 7 == 0 ? Stream::kStderr : Stream::kStdout;
    ASSERT_TRUE(journal->AppendOutput(attempt.id, stream, line).ok());
    all += line;
    by_stream[stream == Stream::kStderr] += line;
  }
  ASSERT_TRUE(journal->EndAttempt(attempt.id, {}).ok());

  std::string joined;
  std::string joined_by_stream[2];
  int64_t last_seq = 0;
  for (const OutputChunk& chunk : ReadChunks(*journal, RunOutput(run.id))) {
    EXPECT_GT(chunk.seq, last_seq);
    last_seq = chunk.seq;
    joined += chunk.bytes;
    joined_by_stream[chunk.stream == Stream::kStderr] += chunk.bytes;
  }
  EXPECT_EQ(joined, all);
  EXPECT_EQ(joined_by_stream[0], by_stream[0]);
  EXPECT_EQ(joined_by_stream[1], by_stream[1]);
  OutputQuery only_stderr = RunOutput(run.id);
  only_stderr.stream = Stream::kStderr;
  EXPECT_EQ(ReadAll(*journal, only_stderr), by_stream[1]);

  // The first 64 KiB (to the end of the chunk crossing it) are inline; every later row
  // holds no bytes and points into the side file, which holds exactly their bytes.
  RawDb raw(journal->path());
  int64_t inline_bytes = std::stoll(raw.Query("SELECT sum(length(bytes)) FROM output"));
  EXPECT_GE(inline_bytes, 64 * 1024);
  EXPECT_LT(inline_bytes, 2 * 64 * 1024);
  EXPECT_EQ(raw.Query("SELECT count(*) FROM output WHERE file_offset IS NOT NULL AND "
                      "length(bytes) > 0"),
            "0");
  EXPECT_EQ(raw.Query("SELECT max(seq) FROM output WHERE file_offset IS NULL"),
            raw.Query("SELECT min(seq) - 1 FROM output WHERE file_offset IS NOT NULL"));
  int64_t file_bytes = static_cast<int64_t>(all.size()) - inline_bytes;
  EXPECT_EQ(raw.Query("SELECT sum(file_length) FROM output"), std::to_string(file_bytes));
  EXPECT_EQ(FileSize(OutputFilePath(dir.path(), attempt.id)), file_bytes);
  EXPECT_EQ(raw.Query("PRAGMA integrity_check"), "ok");
}

TEST_F(SqliteJournalOptionsTest, FollowingAfterSeqCrossesFromInlineRowsToFileRows) {
  SqliteJournal::Options options = SideFileOptions(dir.path());
  options.inline_output_bytes = 16 * 1024;
  Open(options);
  // What `logs -f` does: read on after the last seq seen.
  OutputQuery follow = RunOutput(run.id);
  std::string expected;
  std::string seen;
  for (int round = 0; round < 40; ++round) {
    std::string piece = fmt::format("round {}\n", round) + std::string(3000, 'a' + round % 26);
    ASSERT_TRUE(Append(round % 3 ? Stream::kStdout : Stream::kStderr, piece).ok());
    expected += piece;
    ASSERT_TRUE(journal->FlushOutput().ok());
    for (const OutputChunk& chunk : ReadChunks(*reader, follow)) {
      follow.after_seq = chunk.seq;
      seen += chunk.bytes;
    }
    ASSERT_EQ(seen, expected) << "round " << round;
  }
  RawDb raw(journal->path());
  EXPECT_GT(std::stoi(raw.Query("SELECT count(*) FROM output WHERE file_offset IS NULL")), 1);
  EXPECT_GT(std::stoi(raw.Query("SELECT count(*) FROM output WHERE file_offset IS NOT NULL")), 30);
}

TEST_F(SqliteJournalOptionsTest, AReaderInAnotherJournalSeesFileRowsAfterEachCommit) {
  SqliteJournal::Options options = Durable();
  options.inline_output_bytes = 64 * 1024;
  options.flush_interval = kNever;
  journal = OpenOrDie(options);
  reader = OpenOrDie(options);
  run = CreateOrDie(*journal);
  std::string expected;
  for (const char* key : {"a", "b"}) {
    AttemptRecord attempt = BeginOrDie(*journal, run.id, key);
    for (int i = 0; i < 6; ++i) {
      std::string block = fmt::format("{} {}\n", key, i) + std::string(100'000, 'x');
      ASSERT_TRUE(journal->AppendOutput(attempt.id, Stream::kStdout, block).ok());
      expected += block;
      ASSERT_TRUE(journal->FlushOutput().ok());
      ASSERT_EQ(ReadAll(*reader, RunOutput(run.id)), expected) << key << " " << i;
    }
    ASSERT_TRUE(journal->AppendOutput(attempt.id, Stream::kStderr, "end\n").ok());
    expected += "end\n";
    ASSERT_TRUE(journal->EndAttempt(attempt.id, {}).ok());
    EXPECT_EQ(ReadAll(*reader, RunOutput(run.id)), expected) << key;
    EXPECT_GT(FileSize(OutputFilePath(dir.path(), attempt.id)), 0) << key;
  }
}

TEST_F(SqliteJournalOptionsTest, ASideFileCutShortByAPowerLossIsClippedNotACrash) {
  BigStep big(SideFileOptions(dir.path()), /*small_step=*/false);

  // The rows were committed, but only part of the file reached the disk.
  std::string path = OutputFilePath(dir.path(), big.attempt.id);
  std::filesystem::resize_file(path, 3 * 64 * 1024 + 100);
  std::vector<OutputChunk> chunks = ReadChunks(*big.journal, RunOutput(big.run.id));
  ASSERT_EQ(chunks.size(), 8u);  // every row, the ones past the end without bytes
  std::string read;
  for (const OutputChunk& chunk : chunks)
    read += chunk.bytes;
  EXPECT_EQ(read, big.output.substr(0, 4 * 64 * 1024 + 100));
  EXPECT_EQ(chunks[4].bytes.size(), 100u);
  EXPECT_EQ(chunks[7].bytes, "");

  OutputQuery tail = RunOutput(big.run.id);
  tail.tail_bytes = 64 * 1024;
  chunks = ReadChunks(*big.journal, tail);
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_EQ(chunks[0].skipped_before, 7 * 64 * 1024);
  EXPECT_EQ(chunks[0].bytes, "");

  // Gone altogether: only the inline rows have bytes.
  std::filesystem::remove(path);
  EXPECT_EQ(ReadAll(*big.journal, RunOutput(big.run.id)), big.output.substr(0, 64 * 1024));
}

TEST_F(SqliteJournalOptionsTest, AFullSideFileLosesTheBatchAndReportsItLikeAFullDatabase) {
  SqliteJournal::Options options = SideFileOptions(dir.path());
  options.flush_bytes = 128 * 1024;
  options.max_output_file_bytes = 160 * 1024;
  Open(options);
  std::string path = OutputFilePath(dir.path(), attempt.id);
  // 64 KiB inline, then 128 KiB into the side file, in one batch.
  std::string kept = std::string(64 * 1024, 'i') + std::string(128 * 1024, 'a');
  ASSERT_TRUE(journal->AppendOutput(attempt.id, Stream::kStdout, kept.substr(0, 64 * 1024)).ok());
  ASSERT_TRUE(journal->AppendOutput(attempt.id, Stream::kStdout, kept.substr(64 * 1024)).ok());
  ASSERT_EQ(FileSize(path), 128 * 1024);
  // The next batch does not fit under the cap.
  EXPECT_EQ(
      journal->AppendOutput(attempt.id, Stream::kStdout, std::string(128 * 1024, 'b')).message(),
      Lost(path, 131072));
  // Lost during a durable call: the call succeeds, the next flush reports it, once.
  ASSERT_TRUE(journal->AppendOutput(attempt.id, Stream::kStdout, std::string(100'000, 'c')).ok());
  ASSERT_TRUE(journal->EndAttempt(attempt.id, Outcome(StepStatus::kFailed)).ok());
  EXPECT_EQ(journal->FlushOutput().message(), Lost(path, 100000));
  EXPECT_TRUE(journal->FlushOutput().ok());
  EXPECT_TRUE(journal->FinishRun(run.id, RunStatus::kFailed, 1).ok());

  EXPECT_EQ(ReadAll(*journal, RunOutput(run.id)), kept);
  EXPECT_EQ(FileSize(path), 128 * 1024);  // nothing of the lost batches is left in the file
  std::vector<AttemptRecord> attempts = Ok(journal->ListAttempts(run.id));
  ASSERT_EQ(attempts.size(), 1u);
  EXPECT_EQ(attempts[0].status, StepStatus::kFailed);
}

TEST_F(SqliteJournalOptionsTest, ACrashNeverLeavesACommittedRowPointingPastItsBytes) {
  SqliteJournal::Options options = Durable();
  options.inline_output_bytes = 64 * 1024;
  auto block = [](int i) { return fmt::format("{:08}", i) + std::string(16 * 1024 - 8, 'z'); };
  // Killed right after a flood of batches, the last of them buffered.
  int status = RunInACrashingChild(options, "flood", [&](Journal& journal, int64_t id) {
    for (int i = 0; i < 2048; ++i)
      journal.AppendOutput(id, Stream::kStdout, block(i));
    kill(getpid(), SIGKILL);
  });
  ASSERT_TRUE(WIFSIGNALED(status)) << status;

  journal = OpenOrDie(options);
  std::vector<RunRecord> runs = Ok(journal->ListRuns({}));
  ASSERT_EQ(runs.size(), 1u);
  RawDb raw(journal->path());
  std::string attempt_id = raw.Query("SELECT id FROM attempts");
  int64_t referenced =
      std::stoll(raw.Query("SELECT COALESCE(max(file_offset + file_length), 0) FROM output"));
  EXPECT_LE(referenced,
            std::max<int64_t>(0, FileSize(OutputFilePath(dir.path(), std::stoll(attempt_id)))));
  // What was committed reads back as a prefix of what was appended.
  std::string read = ReadAll(*journal, RunOutput(runs[0].id));
  std::string expected;
  for (int i = 0; expected.size() < read.size(); ++i)
    expected += block(i);
  EXPECT_EQ(read, expected.substr(0, read.size()));
  EXPECT_GT(read.size(), 64u * 1024);
}

}  // namespace
}  // namespace stagecraft::journal
