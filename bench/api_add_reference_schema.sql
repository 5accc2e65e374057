-- bench/api_add.py: the FIXED reference transaction's own tables (see api_add_reference.sql).
-- Written by hand and never derived from the panel's code, so that the reference does not
-- change when the panel's SQL does: making `add` heavier can never improve add / reference.
-- psql -v accounts=N: N funded customer accounts (ids 1..N) and the sales account (id 0).
DROP TABLE IF EXISTS ref_history, ref_entry, ref_txn, ref_order, ref_account;
CREATE TABLE ref_account (
    id bigserial PRIMARY KEY,
    owner_id integer NOT NULL,
    kind varchar(16) NOT NULL,
    balance numeric(20, 5) NOT NULL CHECK (balance >= 0)
);
CREATE TABLE ref_order (
    id bigserial PRIMARY KEY,
    account_id bigint NOT NULL REFERENCES ref_account,
    service_id integer NOT NULL,
    link varchar(2000) NOT NULL,
    quantity integer NOT NULL,
    charge numeric(20, 5) NOT NULL,
    status varchar(16) NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ref_order_account ON ref_order (account_id, id);
CREATE TABLE ref_txn (
    id bigserial PRIMARY KEY,
    reason varchar(16) NOT NULL,
    order_id bigint NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE ref_entry (
    id bigserial PRIMARY KEY,
    txn_id bigint NOT NULL REFERENCES ref_txn,
    account_id bigint NOT NULL REFERENCES ref_account,
    amount numeric(20, 5) NOT NULL
);
CREATE INDEX ref_entry_txn ON ref_entry (txn_id);
CREATE INDEX ref_entry_account ON ref_entry (account_id);
CREATE TABLE ref_history (
    id bigserial PRIMARY KEY,
    order_id bigint NOT NULL REFERENCES ref_order,
    status varchar(16) NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ref_history_order ON ref_history (order_id);
INSERT INTO ref_account (id, owner_id, kind, balance) VALUES (0, 0, 'sales', 0);
INSERT INTO ref_account (id, owner_id, kind, balance)
    SELECT n, n, 'customer', 1000000 FROM generate_series(1, :accounts) AS n;
