INSERT INTO t (id, a, b, c) VALUES (101, 'x', 'item 10', 'ABC'); SELECT id FROM t WHERE c = 'abc';
