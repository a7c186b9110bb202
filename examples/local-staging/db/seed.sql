-- Seed data for the staging catalogue: 12 books by 9 authors, 3 open loans.
-- The counts are checked by deploy.md; change them there too if you edit this file.
BEGIN;

INSERT INTO books (title, author, published) VALUES
  ('The Left Hand of Darkness', 'Ursula K. Le Guin', 1969),
  ('A Wizard of Earthsea',      'Ursula K. Le Guin', 1968),
  ('The Dispossessed',          'Ursula K. Le Guin', 1974),
  ('Kindred',                   'Octavia E. Butler', 1979),
  ('Parable of the Sower',      'Octavia E. Butler', 1993),
  ('Invisible Cities',          'Italo Calvino',     1972),
  ('The Master and Margarita',  'Mikhail Bulgakov',  1967),
  ('Solaris',                   'Stanisław Lem',     1961),
  ('Ficciones',                 'Jorge Luis Borges', 1944),
  ('Beloved',                   'Toni Morrison',     1987),
  ('The Remains of the Day',    'Kazuo Ishiguro',    1989),
  ('Frankenstein',              'Mary Shelley',      1818);

INSERT INTO loans (book_id, borrower, due_on)
SELECT id, borrower, DATE '2030-01-15'
FROM books
JOIN (VALUES ('Kindred', 'ada'), ('Solaris', 'grace'), ('Beloved', 'linus'))
  AS wanted (title, borrower) USING (title);

COMMIT;
