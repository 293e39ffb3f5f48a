INSERT INTO tickets (id, tenant, title) VALUES (100001, 7, 'a'); SELECT title FROM tickets WHERE tenant = 7;
