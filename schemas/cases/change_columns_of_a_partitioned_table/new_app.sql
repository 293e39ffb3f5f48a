INSERT INTO orders (id, bucket, amount, title, note, total) VALUES (101, 3, 5000, 'new', 'n', 1.5);
