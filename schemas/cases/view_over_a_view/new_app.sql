INSERT INTO orders (customer, total, paid) VALUES ('old', 10, true);
SELECT revenue FROM revenue;
SELECT id, total FROM paid_orders;
