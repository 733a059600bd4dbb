-- A pool's `max_concurrent` as slot rows. Before, a conditional lease locked
-- the pool's row in `pools` and counted its live leases, so every lease of a
-- pool waited for the one before to reach the disk. Now a lease takes a free
-- slot (`slot < max_concurrent`, its holder's lease ended or run out) with
-- `FOR UPDATE SKIP LOCKED`: leases of one pool take different slots side by
-- side, and at most `max_concurrent` leases hold one. The row in `pools` is
-- still locked for a pool's token bucket (a rate limit).
CREATE TABLE pool_slots (
    pool text COLLATE "C" NOT NULL,
    slot integer NOT NULL,
    task bigint,
    token bigint,
    PRIMARY KEY (pool, slot)
);
