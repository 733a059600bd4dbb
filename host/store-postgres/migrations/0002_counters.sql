-- The counters every store starts with (the change feed's seq must exist
-- before the first append locks it).
INSERT INTO counters (name, value) VALUES
    ('change_seq', 0),
    ('stale_refusals', 0),
    ('redelivered', 0),
    ('schedule_fires', 0),
    ('lock_tokens', 0)
ON CONFLICT (name) DO NOTHING;
