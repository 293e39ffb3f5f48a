SELECT area(2.0); SELECT area(2.0, 3.0);
