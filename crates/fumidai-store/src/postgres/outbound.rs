//! The outbound watch on PostgreSQL: its SQL text (the bodies are in [`crate::outbound`]). Nodes share the rows:
//! an add's upsert locks its bucket until the transaction ends, so concurrent adds count each and read each
//! other's totals in turn; a hold's conditional upsert locks the account row and re-checks `held` on the latest
//! version, so one call of many is told it held the account.

use crate::outbound::OutboundSql;

pub(super) const SQL: OutboundSql = OutboundSql {
    begin: "BEGIN",
    add: "INSERT INTO outbound_bucket AS b (account, minute, messages, recipients, new_recipients, risky)
        VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (account, minute) DO UPDATE SET
        messages = b.messages + excluded.messages, recipients = b.recipients + excluded.recipients,
        new_recipients = b.new_recipients + excluded.new_recipients, risky = b.risky + excluded.risky",
    seen: "SELECT coalesce(sum(messages), 0)::bigint, coalesce(sum(recipients), 0)::bigint,
        coalesce(sum(new_recipients), 0)::bigint, coalesce(sum(risky), 0)::bigint,
        coalesce((SELECT held FROM outbound_account WHERE account = $1), FALSE)
        FROM outbound_bucket WHERE account = $1 AND minute > $2 AND minute <= $3",
    hold: "INSERT INTO outbound_account AS a (account, held, held_at, reason, counting_since)
        VALUES ($1, TRUE, $2, $3, 0)
        ON CONFLICT (account) DO UPDATE SET held = TRUE, held_at = excluded.held_at, reason = excluded.reason
        WHERE NOT a.held RETURNING account",
    release: "UPDATE outbound_account SET held = FALSE, released_at = $2, released_by = $3, counting_since = $2
        WHERE account = $1 AND held",
    forget_counts: "DELETE FROM outbound_bucket WHERE account = $1 AND minute <= $2",
    reset_count: "SELECT count(*) FROM (SELECT account FROM outbound_bucket WHERE $1::text IS NULL OR account = $1
        UNION SELECT account FROM outbound_account WHERE $1::text IS NULL OR account = $1) had",
    reset_buckets: "DELETE FROM outbound_bucket WHERE $1::text IS NULL OR account = $1",
    reset_accounts: "DELETE FROM outbound_account WHERE $1::text IS NULL OR account = $1",
    accounts: "SELECT listed.account, coalesce(a.held, FALSE) AS held, a.held_at, coalesce(a.reason, ''),
        a.released_at, a.released_by, coalesce(a.counting_since, 0), coalesce(t.messages, 0),
        coalesce(t.recipients, 0), coalesce(t.new_recipients, 0), coalesce(t.risky, 0)
        FROM (SELECT account FROM outbound_account WHERE held
            UNION SELECT account FROM outbound_bucket WHERE minute > $1 AND minute <= $2) listed
        LEFT JOIN outbound_account a ON a.account = listed.account
        LEFT JOIN (SELECT account, sum(messages)::bigint AS messages, sum(recipients)::bigint AS recipients,
            sum(new_recipients)::bigint AS new_recipients, sum(risky)::bigint AS risky
            FROM outbound_bucket WHERE minute > $1 AND minute <= $2 GROUP BY account) t
            ON t.account = listed.account
        ORDER BY held DESC, listed.account COLLATE \"C\"",
    prune_buckets: "DELETE FROM outbound_bucket WHERE minute < $1",
    prune_sent: "DELETE FROM sent_message WHERE sent_at < $1",
    sent_insert: "INSERT INTO sent_message (message_id, account, sent_at, recipient_domains) VALUES ($1, $2, $3, $4)
        ON CONFLICT (message_id) DO NOTHING",
    sent_select: "SELECT message_id, account, sent_at, recipient_domains FROM sent_message WHERE message_id IN ",
    sent_since: "SELECT min(sent_at) FROM sent_message",
};
