SELECT id FROM rich;
SELECT owner FROM owners;
SELECT owner FROM visible;
