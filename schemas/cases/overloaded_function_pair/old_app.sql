SELECT area(2.0);
