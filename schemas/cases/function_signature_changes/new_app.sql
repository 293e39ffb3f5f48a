SELECT greeting('new');
