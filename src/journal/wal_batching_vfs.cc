#include "journal/wal_batching_vfs.h"

#include <sqlite3.h>

#include <cstdlib>
#include <cstring>
#include <mutex>

namespace stagecraft::journal {
namespace {

constexpr const char* kVfsName = "stagecraft-wal-batching";
constexpr int kFrameHeaderBytes = 24;
// SQLite's unix VFS writes at most 128 KiB per call (larger writes fail as SQLITE_FULL).
// 64 KiB already makes 32 calls into one, and is what the buffer costs per connection.
constexpr size_t kBufferBytes = 64 * 1024;

sqlite3_vfs* g_real = nullptr;  // the wrapped default VFS, set once before registration

struct WalFile {
  sqlite3_file base;  // first, so SQLite's sqlite3_file* points at a WalFile
  sqlite3_file* real;
  char* buffer;  // kBufferBytes, allocated on the first write
  size_t used;
  sqlite3_int64 start;  // file offset of buffer[0]
  bool commit_header;   // the last write was a commit frame's header
};

// The real VFS's file lives right after our struct, in the space szOsFile reserves.
constexpr size_t kRealOffset = (sizeof(WalFile) + 15) / 16 * 16;

WalFile* Wal(sqlite3_file* file) {
  return reinterpret_cast<WalFile*>(file);
}

int Flush(WalFile* f) {
  if (f->used == 0) return SQLITE_OK;
  int rc = f->real->pMethods->xWrite(f->real, f->buffer, static_cast<int>(f->used), f->start);
  // On failure the bytes are gone either way: SQLite treats the transaction as failed.
  f->used = 0;
  return rc;
}

int WalClose(sqlite3_file* file) {
  WalFile* f = Wal(file);
  int flushed = Flush(f);
  std::free(f->buffer);
  f->buffer = nullptr;
  int rc = f->real->pMethods->xClose(f->real);
  return flushed != SQLITE_OK ? flushed : rc;
}

int WalRead(sqlite3_file* file, void* data, int amount, sqlite3_int64 offset) {
  WalFile* f = Wal(file);
  if (int rc = Flush(f); rc != SQLITE_OK) return rc;
  return f->real->pMethods->xRead(f->real, data, amount, offset);
}

uint32_t BigEndian32(const unsigned char* bytes) {
  return uint32_t{bytes[0]} << 24 | uint32_t{bytes[1]} << 16 | uint32_t{bytes[2]} << 8 |
         uint32_t{bytes[3]};
}

int WalWrite(sqlite3_file* file, const void* data, int amount, sqlite3_int64 offset) {
  WalFile* f = Wal(file);
  const auto size = static_cast<size_t>(amount);
  const bool continues = f->used > 0 && offset == f->start + static_cast<sqlite3_int64>(f->used);
  if (!continues || f->used + size > kBufferBytes) {
    if (int rc = Flush(f); rc != SQLITE_OK) return rc;
  }
  if (!f->buffer) f->buffer = static_cast<char*>(std::malloc(kBufferBytes));
  const bool ends_commit = f->commit_header;
  f->commit_header =
      amount == kFrameHeaderBytes && BigEndian32(static_cast<const unsigned char*>(data) + 4) != 0;
  if (!f->buffer || size > kBufferBytes) {
    return f->real->pMethods->xWrite(f->real, data, amount, offset);
  }
  if (f->used == 0) f->start = offset;
  std::memcpy(f->buffer + f->used, data, size);
  f->used += size;
  // The page after a commit frame's header completes the transaction: it must be in the
  // file before SQLite publishes the commit in the wal-index.
  return ends_commit ? Flush(f) : SQLITE_OK;
}

int WalTruncate(sqlite3_file* file, sqlite3_int64 size) {
  WalFile* f = Wal(file);
  if (int rc = Flush(f); rc != SQLITE_OK) return rc;
  return f->real->pMethods->xTruncate(f->real, size);
}

int WalSync(sqlite3_file* file, int flags) {
  WalFile* f = Wal(file);
  if (int rc = Flush(f); rc != SQLITE_OK) return rc;
  return f->real->pMethods->xSync(f->real, flags);
}

int WalFileSize(sqlite3_file* file, sqlite3_int64* size) {
  WalFile* f = Wal(file);
  if (int rc = Flush(f); rc != SQLITE_OK) return rc;
  return f->real->pMethods->xFileSize(f->real, size);
}

int WalLock(sqlite3_file* file, int lock) {
  return Wal(file)->real->pMethods->xLock(Wal(file)->real, lock);
}

int WalUnlock(sqlite3_file* file, int lock) {
  return Wal(file)->real->pMethods->xUnlock(Wal(file)->real, lock);
}

int WalCheckReservedLock(sqlite3_file* file, int* result) {
  return Wal(file)->real->pMethods->xCheckReservedLock(Wal(file)->real, result);
}

int WalFileControl(sqlite3_file* file, int op, void* arg) {
  WalFile* f = Wal(file);
  if (int rc = Flush(f); rc != SQLITE_OK) return rc;
  return f->real->pMethods->xFileControl(f->real, op, arg);
}

int WalSectorSize(sqlite3_file* file) {
  return Wal(file)->real->pMethods->xSectorSize(Wal(file)->real);
}

int WalDeviceCharacteristics(sqlite3_file* file) {
  return Wal(file)->real->pMethods->xDeviceCharacteristics(Wal(file)->real);
}

// Version 1: SQLite uses shared memory and memory mapping only on the database file.
const sqlite3_io_methods kWalMethods = {
    1,
    WalClose,
    WalRead,
    WalWrite,
    WalTruncate,
    WalSync,
    WalFileSize,
    WalLock,
    WalUnlock,
    WalCheckReservedLock,
    WalFileControl,
    WalSectorSize,
    WalDeviceCharacteristics,
};

int Open(sqlite3_vfs*, const char* name, sqlite3_file* file, int flags, int* out_flags) {
  if ((flags & SQLITE_OPEN_WAL) == 0) return g_real->xOpen(g_real, name, file, flags, out_flags);
  WalFile* f = Wal(file);
  std::memset(f, 0, sizeof(WalFile));
  f->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(file) + kRealOffset);
  int rc = g_real->xOpen(g_real, name, f->real, flags, out_flags);
  // SQLite calls xClose after a failed open only when pMethods is set.
  if (f->real->pMethods) f->base.pMethods = &kWalMethods;
  return rc;
}

// The rest forwards to the real VFS with its own sqlite3_vfs*, which it may rely on.
int Delete(sqlite3_vfs*, const char* name, int sync_dir) {
  return g_real->xDelete(g_real, name, sync_dir);
}
int Access(sqlite3_vfs*, const char* name, int flags, int* result) {
  return g_real->xAccess(g_real, name, flags, result);
}
int FullPathname(sqlite3_vfs*, const char* name, int size, char* out) {
  return g_real->xFullPathname(g_real, name, size, out);
}
void* DlOpen(sqlite3_vfs*, const char* name) {
  return g_real->xDlOpen(g_real, name);
}
void DlError(sqlite3_vfs*, int size, char* out) {
  g_real->xDlError(g_real, size, out);
}
void (*DlSym(sqlite3_vfs*, void* handle, const char* symbol))(void) {
  return g_real->xDlSym(g_real, handle, symbol);
}
void DlClose(sqlite3_vfs*, void* handle) {
  g_real->xDlClose(g_real, handle);
}
int Randomness(sqlite3_vfs*, int size, char* out) {
  return g_real->xRandomness(g_real, size, out);
}
int Sleep(sqlite3_vfs*, int microseconds) {
  return g_real->xSleep(g_real, microseconds);
}
int CurrentTime(sqlite3_vfs*, double* now) {
  return g_real->xCurrentTime(g_real, now);
}
int GetLastError(sqlite3_vfs*, int size, char* out) {
  return g_real->xGetLastError(g_real, size, out);
}
int CurrentTimeInt64(sqlite3_vfs*, sqlite3_int64* now) {
  return g_real->xCurrentTimeInt64(g_real, now);
}

sqlite3_vfs g_vfs;

}  // namespace

const char* WalBatchingVfsName() {
  static std::once_flag registered;
  std::call_once(registered, [] {
    g_real = sqlite3_vfs_find(nullptr);
    g_vfs.iVersion = 2;
    g_vfs.szOsFile = static_cast<int>(kRealOffset) + g_real->szOsFile;
    g_vfs.mxPathname = g_real->mxPathname;
    g_vfs.zName = kVfsName;
    g_vfs.xOpen = Open;
    g_vfs.xDelete = Delete;
    g_vfs.xAccess = Access;
    g_vfs.xFullPathname = FullPathname;
    g_vfs.xDlOpen = DlOpen;
    g_vfs.xDlError = DlError;
    g_vfs.xDlSym = DlSym;
    g_vfs.xDlClose = DlClose;
    g_vfs.xRandomness = Randomness;
    g_vfs.xSleep = Sleep;
    g_vfs.xCurrentTime = CurrentTime;
    g_vfs.xGetLastError = GetLastError;
    g_vfs.xCurrentTimeInt64 = CurrentTimeInt64;
    sqlite3_vfs_register(&g_vfs, /*makeDflt=*/0);
  });
  return kVfsName;
}

}  // namespace stagecraft::journal
