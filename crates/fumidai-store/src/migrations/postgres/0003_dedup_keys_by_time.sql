-- Dedup keys ordered by time: the primary key becomes (at, key). The keys are hashes, so indexed by key the rows of
-- one statement land on index pages all over the index; by time they land on the last pages, and pruning old keys
-- is a range scan. The time is known wherever a key is probed: it is part of what the key hashes.
ALTER TABLE exchange_seen DROP CONSTRAINT exchange_seen_pkey, ADD PRIMARY KEY (at, key);
