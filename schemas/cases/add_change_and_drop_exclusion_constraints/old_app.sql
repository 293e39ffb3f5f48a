INSERT INTO bookings (id, during) VALUES (100, '[2026-01-01,2026-01-02)'); INSERT INTO rooms (id, area) VALUES (100, '<(100,100),1>');
