-- The change feed without a lock on the commit path. Before, every
-- transaction that appended to a ledger took the `change_seq` counter's row
-- at its end and held it through its commit, so those commits ran one after
-- another, each waiting for the one before to reach the disk. Now a writer
-- only adds its changes here; a reader of the feed first publishes the
-- committed rows into `changes`, with gap-free seqs from the counter, in one
-- transaction that only readers contend for (host/store-postgres/src/feed.rs).
CREATE TABLE change_pending (
    id bigserial PRIMARY KEY,
    run_id text COLLATE "C" NOT NULL
);
