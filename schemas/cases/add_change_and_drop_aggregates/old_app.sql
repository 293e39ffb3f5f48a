SELECT everything FROM all_notes; SELECT old_sum(v) FROM (VALUES (1.0), (2.0)) AS t(v);
