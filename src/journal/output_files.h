#pragma once

// Side files for large output: DIR/output/ATTEMPT_ID.log, one per attempt whose output
// outgrew what the journal keeps inline (SqliteJournal::Options::inline_output_bytes).
//
// Why. Bytes stored in the SQLite database are written twice, once to the WAL and once
// more when a checkpoint copies them into journal.db, with an fsync around each
// checkpoint. A step printing a GiB then costs two GiB of disk writes. An append-only
// file takes each byte once, and the output rows only say where the bytes are.
//
// Layout. A side file holds the bytes of its attempt's file-backed rows, both streams, in
// the order they were appended; each row names its stream, offset and length. A file may
// hold bytes no row refers to (a crash between the write and the commit of their rows);
// readers never look at them.
//
// Ordering. The journal writes a batch's bytes here before it inserts the rows that refer
// to them, so after a crash of the process a committed row never points past written
// bytes. Page-cache writes survive that; surviving a power loss also needs Sync before
// the durable commit. Where a power loss still cut a file short of its rows, readers get
// what is there and nothing for the rest.
//
// Thread-safety: none; SqliteJournal calls both classes under its database mutex, and a
// reader belongs to one ReadOutput call. Ownership: each class owns the descriptors it
// opens and closes them when destroyed.

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/status.h"

namespace stagecraft::journal {

// DIR/output/ATTEMPT_ID.log.
std::string OutputFilePath(const std::string& dir, int64_t attempt_id);

class OutputFileWriter {
 public:
  // `dir` is the journal's state directory. `max_file_bytes` caps each file (0: no cap),
  // failing like a full disk past it, for tests. `start_writeback` asks the kernel to
  // start writing each append to the disk right away, so that the fdatasync before the
  // next durable commit finds little left to do.
  OutputFileWriter(std::string dir, int64_t max_file_bytes, bool start_writeback);
  ~OutputFileWriter();
  OutputFileWriter(const OutputFileWriter&) = delete;
  OutputFileWriter& operator=(const OutputFileWriter&) = delete;

  // Appends `pieces`, in order, to the attempt's file with as few system calls as
  // possible, and returns the file offset of the first byte. Creates the directory and
  // the file when missing. On failure nothing counts as written: the next append reuses
  // the offset. Errors: "journal: disk full writing PATH" for ENOSPC, EDQUOT or the cap,
  // otherwise "journal: cannot write PATH: REASON".
  Result<int64_t> Append(int64_t attempt_id, const std::vector<std::string_view>& pieces);

  // Gives back the bytes from `offset` on, appended by the last Append whose rows could
  // not be committed.
  void Rewind(int64_t attempt_id, int64_t offset);

  // Makes everything appended so far survive a power loss: fdatasyncs each file written
  // since the last Sync, and fsyncs the directories that gained an entry. Errors name
  // the file and how many bytes may not survive.
  Status Sync();

  // Closes the attempt's file. Call it after the Sync that covers its last append; a
  // later Append opens it again.
  void Close(int64_t attempt_id);

 private:
  struct File {
    int fd = -1;
    int64_t size = 0;      // where the next append goes
    int64_t unsynced = 0;  // bytes appended since the last Sync
  };

  Result<File*> Open(int64_t attempt_id);

  const std::string dir_;
  const std::string output_dir_;
  const int64_t max_file_bytes_;
  const bool start_writeback_;
  std::unordered_map<int64_t, File> files_;  // by attempt id
  // Entries not yet made durable: DIR/output itself, and files created in it.
  bool output_dir_created_ = false;
  bool files_created_ = false;
};

class OutputFileReader {
 public:
  explicit OutputFileReader(std::string dir) : dir_(std::move(dir)) {}
  ~OutputFileReader();
  OutputFileReader(const OutputFileReader&) = delete;
  OutputFileReader& operator=(const OutputFileReader&) = delete;

  // Replaces `out` with `length` bytes from `offset` of the attempt's file. A file cut
  // short (or missing) after a power loss yields only the bytes it has, possibly none.
  // Keeps the last attempt's file open, since a run's rows come attempt after attempt.
  // Errors: "journal: cannot read PATH: REASON".
  Status Read(int64_t attempt_id, int64_t offset, int64_t length, std::string& out);

 private:
  void CloseFile();

  const std::string dir_;
  int64_t attempt_id_ = 0;
  bool open_ = false;  // attempt_id_'s file was looked for; fd_ is -1 if it is missing
  int fd_ = -1;
  int64_t size_ = 0;  // the file's size when last looked at
};

}  // namespace stagecraft::journal
