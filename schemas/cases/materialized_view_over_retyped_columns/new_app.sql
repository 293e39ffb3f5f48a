SELECT total FROM order_totals; SELECT customer_id FROM big_customers;
