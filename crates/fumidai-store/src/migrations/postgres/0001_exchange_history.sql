-- Exchange history at two levels. Times are Unix seconds (UTC). Both directions are kept; which ones count for
-- the "no exchange in N days" rule is decided by fumidai-history.
CREATE TABLE address_exchange (
    local_address    TEXT   NOT NULL,
    external_address TEXT   NOT NULL,
    first_seen       BIGINT NOT NULL,
    last_seen        BIGINT NOT NULL,
    outbound_count   BIGINT NOT NULL DEFAULT 0,
    inbound_count    BIGINT NOT NULL DEFAULT 0,
    last_outbound    BIGINT,
    last_inbound     BIGINT,
    PRIMARY KEY (local_address, external_address)
);

CREATE TABLE domain_exchange (
    local_org        TEXT   NOT NULL,
    external_domain  TEXT   NOT NULL,
    first_seen       BIGINT NOT NULL,
    last_seen        BIGINT NOT NULL,
    outbound_count   BIGINT NOT NULL DEFAULT 0,
    inbound_count    BIGINT NOT NULL DEFAULT 0,
    last_outbound    BIGINT,
    last_inbound     BIGINT,
    PRIMARY KEY (local_org, external_domain)
);

-- correspondent_domains() lists external domains across organisations.
CREATE INDEX domain_exchange_external ON domain_exchange (external_domain);

-- Dedup keys of exchanges already counted (see batch.rs: 64-bit hash of local, external, direction, time).
CREATE TABLE exchange_seen (
    key BIGINT PRIMARY KEY,
    at  BIGINT NOT NULL
);
