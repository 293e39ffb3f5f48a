SELECT n FROM daily_events WHERE kind = 'a';
