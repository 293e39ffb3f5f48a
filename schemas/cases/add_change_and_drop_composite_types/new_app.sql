SELECT (home).street FROM people; INSERT INTO people (id, home.street) VALUES (101, 'new');
