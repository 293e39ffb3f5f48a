SELECT with_tax(10); SELECT order_count(); SELECT * FROM orders_over(5); SELECT * FROM orders_over(); CALL purge_orders(0);
