-- Shelf schema version 1: books and the loans made against them.
-- Applied once by deploy.md (Phase 2); psql runs it with ON_ERROR_STOP, so a failure leaves
-- nothing half-created inside the transaction.
BEGIN;

CREATE TABLE schema_migrations (
  version    integer PRIMARY KEY,
  applied_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE books (
  id        serial PRIMARY KEY,
  title     text    NOT NULL,
  author    text    NOT NULL,
  published integer NOT NULL CHECK (published BETWEEN 1400 AND 2100)
);

CREATE TABLE loans (
  id       serial PRIMARY KEY,
  book_id  integer NOT NULL REFERENCES books (id),
  borrower text    NOT NULL,
  due_on   date    NOT NULL
);

INSERT INTO schema_migrations (version) VALUES (1);

COMMIT;
