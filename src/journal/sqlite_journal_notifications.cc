// Notification attempts in the SQLite journal (schema version 6).

#include <fmt/format.h>

#include "journal/sqlite_db.h"
#include "journal/sqlite_journal.h"

namespace stagecraft::journal {

Result<NotificationRecord> SqliteJournal::RecordNotification(NotificationRecord notification) {
  std::lock_guard<std::mutex> lock(mu_);
  if (notification.at == 0) notification.at = NowMs();
  Status status = InTransactionLocked(/*durable=*/false, [&]() -> Status {
    if (Status exists = RequireRunLocked(notification.run_id); !exists.ok()) return exists;
    Result<Statement> insert = db_->Prepare(
        "INSERT INTO notifications (run_id, target, event, attempt, at, duration_ms, "
        "http_status, delivered, error) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
    if (!insert.ok()) return insert.status();
    insert->Bind(1, notification.run_id);
    insert->Bind(2, notification.target);
    insert->Bind(3, notification.event);
    insert->Bind(4, int64_t{notification.attempt});
    insert->Bind(5, notification.at);
    insert->Bind(6, notification.duration_ms);
    insert->Bind(7, notification.http_status ? std::optional<int64_t>(*notification.http_status)
                                             : std::nullopt);
    insert->Bind(8, int64_t{notification.delivered ? 1 : 0});
    insert->Bind(9, notification.error);
    if (Status done = insert->Run(); !done.ok()) return done;
    notification.id = db_->LastInsertId();
    return Status::Ok();
  });
  if (!status.ok()) return status;
  return notification;
}

Result<std::vector<NotificationRecord>> SqliteJournal::ListNotifications(
    const std::string& run_id) {
  std::lock_guard<std::mutex> lock(mu_);
  if (Status status = RequireRunLocked(run_id); !status.ok()) return status;
  Result<Statement> select = db_->Prepare(
      "SELECT id, target, event, attempt, at, duration_ms, http_status, delivered, error "
      "FROM notifications WHERE run_id = ?1 ORDER BY id");
  if (!select.ok()) return select.status();
  select->Bind(1, run_id);
  std::vector<NotificationRecord> notifications;
  while (true) {
    Result<bool> row = select->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    NotificationRecord notification;
    notification.id = select->Int(0);
    notification.run_id = run_id;
    notification.target = select->Text(1);
    notification.event = select->Text(2);
    notification.attempt = static_cast<int>(select->Int(3));
    notification.at = select->Int(4);
    notification.duration_ms = select->Int(5);
    if (auto http_status = select->OptionalInt(6))
      notification.http_status = static_cast<int>(*http_status);
    notification.delivered = select->Int(7) != 0;
    notification.error = select->Text(8);
    notifications.push_back(std::move(notification));
  }
  return notifications;
}

}  // namespace stagecraft::journal
