SELECT greeting('old');
