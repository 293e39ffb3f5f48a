SELECT everything FROM all_notes; SELECT body FROM longest_note; SELECT longest(body) FROM notes;
