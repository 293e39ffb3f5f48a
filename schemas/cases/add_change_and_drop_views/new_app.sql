SELECT owner FROM overdrawn;
SELECT owner FROM owners;
