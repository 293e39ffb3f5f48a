INSERT INTO tickets (title) VALUES ('old'); SELECT title FROM tickets;
