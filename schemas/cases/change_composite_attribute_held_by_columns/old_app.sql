INSERT INTO invoices (id, total, previous) VALUES (100, ROW(5, 'EUR'), ARRAY[ROW(1, 'USD')::money_amount]);
UPDATE invoices SET total = ROW((total).units + 1, (total).currency) WHERE id = 100;
SELECT (total).units FROM invoices WHERE id = 100;
