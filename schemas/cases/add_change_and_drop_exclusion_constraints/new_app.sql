INSERT INTO desks (id, spot) VALUES (100, '<(0,0),1>'); INSERT INTO bookings (id, during) VALUES (101, '[2026-02-01,2026-02-02)');
