INSERT INTO users (email, legacy_code) VALUES ('old@x.y', 'L1');
SELECT legacy_code FROM everything;
SELECT legacy_code FROM codes;
