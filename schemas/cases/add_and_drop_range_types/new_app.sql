INSERT INTO bookings (id, during, spans, initials) VALUES (101, '[1.5,2.5)', '{[1,2)}', '{[a,c)}'); SELECT id FROM bookings WHERE during @> 2.0::float8;
