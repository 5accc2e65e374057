-- bench/api_add.py: the FIXED reference transaction of one order, run by pgbench at the
-- same concurrency as `add` (pgbench -D accounts=N; N=1 is the hot wallet). Tables: see
-- api_add_reference_schema.sql. Lock the account row, debit it, insert the order, insert a
-- ledger transaction with two entries, insert one history row. Never derived from our code.
\set a random(1, :accounts)
\set r random(1, 2000000000)
BEGIN;
SELECT balance FROM ref_account WHERE id = :a FOR NO KEY UPDATE;
UPDATE ref_account SET balance = balance - 0.09 WHERE id = :a AND balance >= 0.09;
INSERT INTO ref_order (account_id, service_id, link, quantity, charge, status) VALUES (:a, 1, 'https://instagram.com/ref_' || :client_id || '_' || :r, 100, 0.09, 'pending') RETURNING id AS order_id \gset
INSERT INTO ref_txn (reason, order_id) VALUES ('spend', :order_id) RETURNING id AS txn_id \gset
INSERT INTO ref_entry (txn_id, account_id, amount) VALUES (:txn_id, :a, -0.09), (:txn_id, 0, 0.09);
INSERT INTO ref_history (order_id, status) VALUES (:order_id, 'pending');
COMMIT;
