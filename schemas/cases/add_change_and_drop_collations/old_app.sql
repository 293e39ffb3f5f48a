INSERT INTO t (id, a, b) VALUES (100, 'x', 'y');
