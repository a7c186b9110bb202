// SqliteJournal: output, from the buffer through the rows and side files and back.

#include <fmt/format.h>

#include <algorithm>
#include <string_view>
#include <unordered_set>
#include <utility>

#include "journal/sqlite_db.h"
#include "journal/sqlite_journal.h"

namespace stagecraft::journal {
namespace {

// Output rows hold at most this much. Big enough that the per-row cost stays small next to
// the bytes, small enough that `logs` streams a row at a time without large allocations.
constexpr size_t kMaxChunkBytes = 64 * 1024;

// Where an attempt's tail starts, for OutputQuery::tail_bytes.
struct TailStart {
  int64_t bytes_left = 0;       // of the tail, still to cover
  int64_t first_kept_seq = -1;  // the attempt's chunks before it are left out
  int64_t skipped = 0;          // their bytes
};

// From (seq, attempt id, length) rows newest first: each attempt's tail start. Only
// per-attempt figures are kept: a run can hold millions of small chunks.
Result<std::unordered_map<int64_t, TailStart>> FindTails(Statement& sizes, size_t tail_bytes) {
  std::unordered_map<int64_t, TailStart> tails;  // by attempt id
  while (true) {
    Result<bool> row = sizes.Step();
    if (!row.ok()) return row.status();
    if (!*row) return tails;
    auto [it, first] = tails.try_emplace(sizes.Int(1));
    TailStart& tail = it->second;
    if (first) tail.bytes_left = static_cast<int64_t>(tail_bytes);
    if (tail.bytes_left > 0) {
      tail.bytes_left -= sizes.Int(2);
      tail.first_kept_seq = sizes.Int(0);
    } else {
      tail.skipped += sizes.Int(2);
    }
  }
}

}  // namespace

bool SqliteJournal::FlushDueLocked(SteadyClock::time_point now) const {
  return !pending_.empty() && (pending_bytes_ >= options_.flush_bytes ||
                               now - pending_since_ >= options_.flush_interval);
}

Status SqliteJournal::WriteSideFilesLocked(const std::vector<PendingChunk>& batch,
                                           std::vector<int64_t>& offsets) {
  offsets.assign(batch.size(), -1);
  // A batch rarely holds more than one attempt past its inline share; each gets one
  // append of all its chunks, in batch order.
  std::vector<std::pair<int64_t, std::vector<size_t>>> by_attempt;
  for (size_t i = 0; i < batch.size(); ++i) {
    const PendingChunk& chunk = batch[i];
    size_t& inlined = inline_bytes_[chunk.attempt_id];
    if (inlined < options_.inline_output_bytes) {
      inlined += chunk.bytes.size();
      continue;
    }
    auto group = std::find_if(by_attempt.begin(), by_attempt.end(),
                              [&](const auto& entry) { return entry.first == chunk.attempt_id; });
    if (group == by_attempt.end())
      group = by_attempt.insert(by_attempt.end(), {chunk.attempt_id, {}});
    group->second.push_back(i);
  }
  std::vector<std::string_view> pieces;
  for (const auto& [attempt_id, chunks] : by_attempt) {
    pieces.clear();
    for (size_t i : chunks)
      pieces.push_back(batch[i].bytes);
    Result<int64_t> start = side_files_.Append(attempt_id, pieces);
    if (!start.ok()) {
      RewindSideFilesLocked(batch, offsets);
      offsets.assign(batch.size(), -1);
      return start.status();
    }
    int64_t offset = *start;
    for (size_t i : chunks) {
      offsets[i] = offset;
      offset += static_cast<int64_t>(batch[i].bytes.size());
    }
  }
  return Status::Ok();
}

void SqliteJournal::RewindSideFilesLocked(const std::vector<PendingChunk>& batch,
                                          const std::vector<int64_t>& offsets) {
  // Each attempt's first file-backed chunk in the batch is where its append began.
  std::unordered_set<int64_t> rewound;
  for (size_t i = 0; i < batch.size(); ++i) {
    if (offsets[i] < 0 || !rewound.insert(batch[i].attempt_id).second) continue;
    side_files_.Rewind(batch[i].attempt_id, offsets[i]);
  }
}

Status SqliteJournal::WriteBatchLocked(const std::vector<PendingChunk>& batch,
                                       const std::vector<int64_t>& offsets) {
  Result<Statement> insert = db_->Prepare(
      "INSERT INTO output (run_id, attempt_id, stream, at, bytes, file_offset, file_length) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
  if (!insert.ok()) return insert.status();
  for (size_t i = 0; i < batch.size(); ++i) {
    const PendingChunk& chunk = batch[i];
    Result<std::string> run_id = RunOfAttemptLocked(chunk.attempt_id);
    if (!run_id.ok()) return run_id.status();
    insert->Reset();
    insert->BindAll(*run_id, chunk.attempt_id, static_cast<int64_t>(chunk.stream), chunk.at);
    if (offsets[i] < 0) {
      // file_offset and file_length stay NULL: a NULL after the blob costs nothing to
      // read, so filters and length() still never touch the blob's overflow pages.
      insert->BindBlobNoCopy(5, chunk.bytes);
    } else {
      insert->BindBlobNoCopy(5, std::string_view());
      insert->Bind(6, offsets[i]);
      insert->Bind(7, static_cast<int64_t>(chunk.bytes.size()));
    }
    if (Status status = insert->Run(); !status.ok()) return status;
  }
  return Status::Ok();
}

Status SqliteJournal::FlushLocked() {
  if (pending_.empty()) return Status::Ok();
  std::vector<PendingChunk> batch;
  batch.swap(pending_);
  size_t batch_bytes = pending_bytes_;
  pending_bytes_ = 0;
  Status status = [&] {
    // Side files first: once the rows are committed, the bytes they point at are written.
    std::vector<int64_t> offsets;
    if (Status written = WriteSideFilesLocked(batch, offsets); !written.ok()) return written;
    Status committed = [&] {
      Result<Transaction> transaction = Transaction::Begin(*db_, /*durable=*/false);
      if (!transaction.ok()) return transaction.status();
      if (Status written = WriteBatchLocked(batch, offsets); !written.ok()) return written;
      return transaction->Commit();
    }();
    if (!committed.ok()) RewindSideFilesLocked(batch, offsets);
    return committed;
  }();
  // A failed batch is dropped, not kept for a retry: the failures that reach here (disk
  // full, I/O errors, a lock held past busy_timeout) rarely clear up within a step, and
  // a growing buffer would make every later write fail the same way.
  if (!status.ok()) {
    status = Status::Error(
        fmt::format("{}; {} bytes of output were not journaled", status.message(), batch_bytes));
  }
  // The next batch fills the same buffers instead of allocating fresh ones.
  const size_t max_spares = options_.flush_bytes / kMaxChunkBytes + 1;
  for (PendingChunk& chunk : batch) {
    if (spare_chunks_.size() >= max_spares) break;
    chunk.bytes.clear();
    spare_chunks_.push_back(std::move(chunk.bytes));
  }
  return status;
}

void SqliteJournal::DeferError(Status status) {
  if (deferred_error_.ok()) deferred_error_ = std::move(status);
}

Status SqliteJournal::TakeDeferredError() {
  Status error = std::move(deferred_error_);
  deferred_error_ = Status::Ok();
  return error;
}

Status SqliteJournal::AppendOutput(int64_t attempt_id, Stream stream, std::string_view bytes,
                                   TimeMs at) {
  std::lock_guard<std::mutex> lock(mu_);
  if (Result<std::string> run = RunOfAttemptLocked(attempt_id); !run.ok()) return run.status();
  Status status = TakeDeferredError();
  if (bytes.empty()) return status;
  if (at == 0) at = NowMs();

  if (pending_.empty()) pending_since_ = SteadyClock::now();
  while (!bytes.empty()) {
    // Consecutive appends of one stream share a row: a process writing a line at a time
    // would otherwise cost a row per line.
    if (pending_.empty() || pending_.back().attempt_id != attempt_id ||
        pending_.back().stream != stream || pending_.back().bytes.size() >= kMaxChunkBytes) {
      std::string chunk_bytes;
      if (!spare_chunks_.empty()) {
        chunk_bytes = std::move(spare_chunks_.back());
        spare_chunks_.pop_back();
      }
      pending_.push_back(PendingChunk{attempt_id, stream, at, std::move(chunk_bytes)});
    }
    std::string& chunk = pending_.back().bytes;
    size_t take = std::min(bytes.size(), kMaxChunkBytes - chunk.size());
    chunk.append(bytes.substr(0, take));
    bytes.remove_prefix(take);
    pending_bytes_ += take;
  }
  if (!FlushDueLocked(SteadyClock::now())) return status;
  Status flushed = FlushLocked();
  if (status.ok()) return flushed;
  if (!flushed.ok()) DeferError(std::move(flushed));
  return status;
}

Status SqliteJournal::FlushOutput() {
  std::lock_guard<std::mutex> lock(mu_);
  Status status = FlushLocked();
  // Taken after the flush: a batch a durable call failed to write before counts too.
  Status deferred = TakeDeferredError();
  if (deferred.ok()) return status;
  if (!status.ok()) DeferError(std::move(status));
  return deferred;
}

Status SqliteJournal::ReadOutput(const OutputQuery& query, const OutputCallback& callback) {
  std::lock_guard<std::mutex> lock(mu_);
  // Lost output is reported by the next AppendOutput/FlushOutput; the reader still gets
  // everything that was written.
  if (Status flushed = FlushLocked(); !flushed.ok()) DeferError(std::move(flushed));
  if (Status status = RequireRunLocked(query.run_id); !status.ok()) return status;
  // The filters' numbers come first: ?5 always appears, so all five can be bound.
  std::string filter = "WHERE o.run_id = ?4 AND o.seq > ?5";
  if (query.step_key) filter += " AND a.step_key = ?1";
  if (query.attempt_id) filter += " AND o.attempt_id = ?2";
  if (query.stream) filter += " AND o.stream = ?3";
  std::optional<int64_t> stream;
  if (query.stream) stream = static_cast<int64_t>(*query.stream);
  auto prepare = [&](std::string_view columns, std::string_view order) {
    return db_->Query(fmt::format("SELECT {} FROM output o JOIN attempts a ON a.id = "
                                  "o.attempt_id {} ORDER BY o.seq {}",
                                  columns, filter, order),
                      query.step_key, query.attempt_id, stream, query.run_id, query.after_seq);
  };

  // With tail_bytes, the chunks' sizes come first, newest to oldest, to find where each
  // attempt's tail starts; length() of a blob reads only the row, not the overflow pages
  // holding the bytes, and file-backed rows carry their length.
  std::unordered_map<int64_t, TailStart> tails;
  if (query.tail_bytes > 0) {
    Result<Statement> sizes =
        prepare("o.seq, o.attempt_id, COALESCE(o.file_length, length(o.bytes))", "DESC");
    if (!sizes.ok()) return sizes.status();
    Result<std::unordered_map<int64_t, TailStart>> found = FindTails(*sizes, query.tail_bytes);
    if (!found.ok()) return found.status();
    tails = std::move(*found);
  }
  const bool any_skipped = std::any_of(tails.begin(), tails.end(),
                                       [](const auto& tail) { return tail.second.skipped > 0; });

  // When some chunks are left out, the kept ones are fetched one by one so the others'
  // bytes are never read.
  Result<Statement> select =
      prepare(any_skipped ? "o.seq, a.step_key, o.attempt_id, a.attempt, o.stream, o.at"
                          : "o.seq, a.step_key, o.attempt_id, a.attempt, o.stream, o.at, o.bytes, "
                            "o.file_offset, o.file_length",
              "");
  if (!select.ok()) return select.status();
  Result<Statement> fetch =
      db_->Prepare("SELECT bytes, file_offset, file_length FROM output WHERE seq = ?1");
  if (!fetch.ok()) return fetch.status();
  OutputFileReader side_files(dir_);
  // A row's bytes: inline in column `column`, or in its side file when the next two
  // columns (offset, length) are set.
  auto read_bytes = [&](const Statement& row, int column, OutputChunk& chunk) -> Status {
    if (row.IsNull(column + 1)) {
      std::string_view bytes = row.Blob(column);
      chunk.bytes.assign(bytes.data(), bytes.size());
      return Status::Ok();
    }
    return side_files.Read(chunk.attempt_id, row.Int(column + 1), row.Int(column + 2), chunk.bytes);
  };
  OutputChunk chunk;
  chunk.run_id = query.run_id;
  while (true) {
    Result<bool> row = select->Step();
    if (!row.ok()) return row.status();
    if (!*row) return Status::Ok();
    chunk.seq = select->Int(0);
    chunk.step_key = select->Text(1);
    chunk.attempt_id = select->Int(2);
    chunk.attempt = static_cast<int>(select->Int(3));
    chunk.stream =
        select->Int(4) == static_cast<int64_t>(Stream::kStderr) ? Stream::kStderr : Stream::kStdout;
    chunk.at = select->Int(5);
    chunk.skipped_before = 0;
    if (!any_skipped) {
      if (Status read = read_bytes(*select, 6, chunk); !read.ok()) return read;
      if (!callback(chunk)) return Status::Ok();
      continue;
    }
    auto tail = tails.find(chunk.attempt_id);
    // A chunk written after the sizes were read is part of its attempt's tail.
    if (tail != tails.end() && chunk.seq < tail->second.first_kept_seq) continue;
    fetch->Reset();
    fetch->Bind(1, chunk.seq);
    Result<bool> found = fetch->Step();
    if (!found.ok()) return found.status();
    if (!*found) continue;  // deleted since the first query (with its run, by another process)
    if (Status read = read_bytes(*fetch, 0, chunk); !read.ok()) return read;
    if (tail != tails.end() && tail->second.skipped > 0) {
      chunk.skipped_before = tail->second.skipped;
      tail->second.skipped = 0;
    }
    if (!callback(chunk)) return Status::Ok();
  }
}

}  // namespace stagecraft::journal
