SELECT 1 / has_schema_privilege('reporting', 'public', 'CREATE')::int;
