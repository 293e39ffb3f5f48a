INSERT INTO invoices (id, total, previous) VALUES (101, ROW(7, 'EUR'), NULL);
SELECT sum((total).units), count(previous) FROM invoices;
