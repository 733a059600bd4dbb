-- Signed heads of run ledgers (docs/storage.md, "Tamper evidence"): one row
-- per (run, seq), written at a run's end by an engine that has a signing key.
-- The store never checks them; `weft runs verify --public-key` does.
CREATE TABLE ledger_signatures (
    run_id text COLLATE "C" NOT NULL,
    seq bigint NOT NULL,
    head text NOT NULL,
    signature text NOT NULL,
    public_key text NOT NULL,
    time_ms bigint NOT NULL,
    PRIMARY KEY (run_id, seq)
);
