SELECT event_count();
