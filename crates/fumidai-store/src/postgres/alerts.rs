//! Springboard alerts on PostgreSQL: their SQL text. Several nodes (or a collector's many connections) record
//! at once: the event's primary key makes a repeated id wait for the first and then do nothing, and the case row
//! is locked (`FOR UPDATE`) before an event is folded into it, so concurrent events of one case count each.

use crate::alerts::AlertSql;

pub(super) const SQL: AlertSql = AlertSql {
    begin: "BEGIN",
    durable: "SET LOCAL synchronous_commit = on",
    insert_event: "INSERT INTO alert_event (id, site, kind, organisation, observed_at, verdict, score, sample_json,
        outbox) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO NOTHING",
    event_case: "SELECT case_id FROM alert_event WHERE id = $1",
    set_event_case: "UPDATE alert_event SET case_id = $2 WHERE id = $1",
    create_case: "INSERT INTO alert_case (organisation, kind, state, first_seen, last_seen, event_count, opened_at,
        reopened, state_changed_at, source_ips_json, samples_json, sites_json)
        VALUES ($1, $2, 'new', $3, $3, 0, $3, 0, $3, '[]', '[]', '[]') ON CONFLICT (organisation, kind) DO NOTHING",
    select_case: "SELECT c.id, c.organisation, c.kind, c.state, c.first_seen, c.last_seen, c.event_count,
        c.opened_at, c.reopened, c.state_changed_at, c.last_notified_at, c.source_ips_json, c.samples_json,
        c.sites_json FROM alert_case c",
    for_update: " FOR UPDATE",
    update_case: "UPDATE alert_case SET state = $2, first_seen = $3, last_seen = $4, event_count = $5,
        opened_at = $6, reopened = $7, state_changed_at = $8, source_ips_json = $9, samples_json = $10,
        sites_json = $11 WHERE id = $1",
    outbox: "SELECT id, site, kind, organisation, observed_at, verdict, score, sample_json FROM alert_event
        WHERE outbox ORDER BY observed_at, id LIMIT $1",
    forwarded: "UPDATE alert_event SET outbox = FALSE WHERE outbox AND id IN ",
    set_state: "UPDATE alert_case SET state = $2, state_changed_at = $3 WHERE id = $1",
    notified: "UPDATE alert_case SET state = 'notified', last_notified_at = $2, state_changed_at = $2
        WHERE id = $1",
    insert_notification: "INSERT INTO alert_notification (case_id, organisation, kind, sent_at, recipient, language,
        reference) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    notifications: "SELECT case_id, organisation, kind, sent_at, recipient, language, reference
        FROM alert_notification WHERE sent_at >= $1 AND sent_at < $2 ORDER BY sent_at, id",
    upsert_organisation: "INSERT INTO alert_organisation (domain, name, industry, contact) VALUES ($1, $2, $3, $4)
        ON CONFLICT (domain) DO UPDATE SET name = excluded.name, industry = excluded.industry,
        contact = excluded.contact",
    directory: "SELECT domain, name, industry, contact FROM alert_organisation ORDER BY domain",
    upsert_industry: "INSERT INTO alert_industry (industry, enterprises) VALUES ($1, $2)
        ON CONFLICT (industry) DO UPDATE SET enterprises = excluded.enterprises",
    industries: "SELECT industry, enterprises FROM alert_industry ORDER BY industry",
};
