INSERT INTO bookings (id, legacy) VALUES (100, '[1,5)');
