//! The outbound watch on SQLite: its SQL text (the bodies are in [`crate::outbound`]). Every write runs on the
//! store's one writer connection, in a `BEGIN IMMEDIATE` transaction where it takes more than one statement, so
//! another process on the same file waits for the write lock instead of interleaving.

use crate::outbound::OutboundSql;

pub(super) const SQL: OutboundSql = OutboundSql {
    begin: "BEGIN IMMEDIATE",
    add: "INSERT INTO outbound_bucket (account, minute, messages, recipients, new_recipients, risky)
        VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (account, minute) DO UPDATE SET
        messages = messages + excluded.messages, recipients = recipients + excluded.recipients,
        new_recipients = new_recipients + excluded.new_recipients, risky = risky + excluded.risky",
    seen: "SELECT coalesce(sum(messages), 0), coalesce(sum(recipients), 0), coalesce(sum(new_recipients), 0),
        coalesce(sum(risky), 0), coalesce((SELECT held FROM outbound_account WHERE account = ?1), 0)
        FROM outbound_bucket WHERE account = ?1 AND minute > ?2 AND minute <= ?3",
    hold: "INSERT INTO outbound_account (account, held, held_at, reason, counting_since) VALUES (?1, 1, ?2, ?3, 0)
        ON CONFLICT (account) DO UPDATE SET held = 1, held_at = excluded.held_at, reason = excluded.reason
        WHERE NOT outbound_account.held RETURNING account",
    release: "UPDATE outbound_account SET held = 0, released_at = ?2, released_by = ?3, counting_since = ?2
        WHERE account = ?1 AND held",
    forget_counts: "DELETE FROM outbound_bucket WHERE account = ?1 AND minute <= ?2",
    reset_count: "SELECT count(*) FROM (SELECT account FROM outbound_bucket WHERE ?1 IS NULL OR account = ?1
        UNION SELECT account FROM outbound_account WHERE ?1 IS NULL OR account = ?1)",
    reset_buckets: "DELETE FROM outbound_bucket WHERE ?1 IS NULL OR account = ?1",
    reset_accounts: "DELETE FROM outbound_account WHERE ?1 IS NULL OR account = ?1",
    accounts: "SELECT listed.account, coalesce(a.held, 0) AS held, a.held_at, coalesce(a.reason, ''),
        a.released_at, a.released_by, coalesce(a.counting_since, 0), coalesce(t.messages, 0),
        coalesce(t.recipients, 0), coalesce(t.new_recipients, 0), coalesce(t.risky, 0)
        FROM (SELECT account FROM outbound_account WHERE held
            UNION SELECT account FROM outbound_bucket WHERE minute > ?1 AND minute <= ?2) listed
        LEFT JOIN outbound_account a ON a.account = listed.account
        LEFT JOIN (SELECT account, sum(messages) AS messages, sum(recipients) AS recipients,
            sum(new_recipients) AS new_recipients, sum(risky) AS risky
            FROM outbound_bucket WHERE minute > ?1 AND minute <= ?2 GROUP BY account) t
            ON t.account = listed.account
        ORDER BY held DESC, listed.account",
    prune_buckets: "DELETE FROM outbound_bucket WHERE minute < ?1",
    prune_sent: "DELETE FROM sent_message WHERE sent_at < ?1",
    sent_insert: "INSERT INTO sent_message (message_id, account, sent_at, recipient_domains) VALUES (?1, ?2, ?3, ?4)
        ON CONFLICT (message_id) DO NOTHING",
    sent_select: "SELECT message_id, account, sent_at, recipient_domains FROM sent_message WHERE message_id IN ",
    sent_since: "SELECT min(sent_at) FROM sent_message",
};
