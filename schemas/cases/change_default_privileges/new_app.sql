SET LOCAL ROLE bellows_defaults_reader; SELECT count(*) FROM invoices; SELECT answer(); RESET ROLE; SET LOCAL ROLE bellows_defaults_writer; INSERT INTO invoices (id) VALUES (1);
