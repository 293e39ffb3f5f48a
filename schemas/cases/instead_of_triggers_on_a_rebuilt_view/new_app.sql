INSERT INTO people_view (id, name) VALUES (1001, 'new'); SELECT name FROM people_view;
