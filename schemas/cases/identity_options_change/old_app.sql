INSERT INTO tickets (note) VALUES ('old app');
