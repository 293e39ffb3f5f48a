INSERT INTO tickets (note) VALUES ('new app'); SELECT seat FROM tickets WHERE note = 'new app';
