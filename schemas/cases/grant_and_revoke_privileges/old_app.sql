SET LOCAL ROLE bellows_grants_reader; SELECT id FROM order_totals; SELECT id FROM orders; RESET ROLE; SET LOCAL ROLE bellows_grants_writer; INSERT INTO orders (total) VALUES (1);
