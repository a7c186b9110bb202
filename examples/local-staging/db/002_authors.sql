-- Shelf schema version 2: authors move to their own table.
-- This is the risky change of the release: the books.author column is dropped once every
-- book points at an author row, and version 1 of the application cannot read the result.
-- deploy.md takes a pg_dump backup right before it runs.
BEGIN;

CREATE TABLE authors (
  id   serial PRIMARY KEY,
  name text NOT NULL UNIQUE
);

INSERT INTO authors (name)
SELECT DISTINCT author FROM books ORDER BY author;

ALTER TABLE books ADD COLUMN author_id integer REFERENCES authors (id);

UPDATE books SET author_id = authors.id FROM authors WHERE authors.name = books.author;

ALTER TABLE books ALTER COLUMN author_id SET NOT NULL;
ALTER TABLE books DROP COLUMN author;

INSERT INTO schema_migrations (version) VALUES (2);

COMMIT;
