INSERT INTO people_view (id, name) VALUES (1000, 'old'); SELECT email FROM people_view;
