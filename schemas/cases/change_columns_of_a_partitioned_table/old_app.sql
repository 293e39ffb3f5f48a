INSERT INTO orders (id, bucket, amount, label) VALUES (100, 1, 5, 'old');
