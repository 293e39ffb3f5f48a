SELECT total FROM order_totals WHERE customer_id = 1; SELECT customer_id FROM big_customers; REFRESH MATERIALIZED VIEW CONCURRENTLY order_totals;
