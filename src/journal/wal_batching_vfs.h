#pragma once

// A SQLite VFS that hands the WAL's writes to the operating system in large pieces.
//
// Why. SQLite appends each page to the WAL as two writes, a 24-byte frame header and the
// page, so a GiB of output costs half a million write calls; on a virtual machine their
// fixed cost, not the copying, is most of what journaling output costs. This VFS
// collects consecutive WAL writes in a buffer (up to 64 KiB) and writes it with one call.
//
// Why it is safe. SQLite tells other connections about new frames only through the
// wal-index after writing them, and it writes a transaction's commit frame last; the
// commit frame is recognisable by its header (WAL format: bytes 4-7, the database size
// after the commit, are non-zero only there). The buffer is written out right after a
// commit frame, so every frame a committed transaction made is in the file before any
// reader can learn of it, and a crash loses at most an uncommitted transaction, as
// without the buffer. It is also written out before anything that looks at the file:
// reads, syncs (so durable commits are fsynced whole), truncation, size queries, file
// controls, closing, and a write that does not continue the buffer. Other files (the
// database itself, the wal-index) pass straight through; so do locks, which SQLite
// takes on the database file, not the WAL.
//
// Thread-safety: as SQLite's own VFS; a file is used by one connection at a time.

namespace stagecraft::journal {

// The VFS name to pass to sqlite3_open_v2, registered with SQLite on the first call
// (not as the default). It wraps the default VFS.
const char* WalBatchingVfsName();

}  // namespace stagecraft::journal
