SELECT with_tax(10); SELECT legacy_total(); CALL purge_orders(0);
