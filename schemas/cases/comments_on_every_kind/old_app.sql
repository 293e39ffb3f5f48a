INSERT INTO orders (id, total, code, mood) VALUES (100, 5, 'x1000', 'sad'); SELECT obj_description('audit'::regnamespace);
