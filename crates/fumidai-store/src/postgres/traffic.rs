//! The dashboard's counters on PostgreSQL: their SQL text (the bodies are in [`crate::traffic`]). Nodes share the
//! rows: each upsert locks its row until the transaction ends, so concurrent adds from any node add up. Text is
//! ordered with the "C" collation, bytewise as on SQLite; a sum of BIGINT is NUMERIC, so it is cast back.

use crate::traffic::TrafficSql;

pub(super) const SQL: TrafficSql = TrafficSql {
    begin: "BEGIN",
    add_traffic: "INSERT INTO traffic_hour AS t (hour, direction, verdict, action, messages)
        VALUES ($1, $2, $3, $4, $5)
        ON CONFLICT (hour, direction, verdict, action) DO UPDATE SET messages = t.messages + excluded.messages",
    add_finding: "INSERT INTO finding_hour AS f (hour, finding, messages) VALUES ($1, $2, $3)
        ON CONFLICT (hour, finding) DO UPDATE SET messages = f.messages + excluded.messages",
    traffic: "SELECT hour, direction, verdict, action, messages FROM traffic_hour WHERE hour >= $1 AND hour < $2
        ORDER BY hour, direction COLLATE \"C\", verdict COLLATE \"C\", action COLLATE \"C\"",
    top_findings: "SELECT finding, sum(messages)::BIGINT AS total FROM finding_hour
        WHERE hour >= $1 AND hour < $2
        GROUP BY finding ORDER BY total DESC, finding COLLATE \"C\" LIMIT $3",
    prune_traffic: "DELETE FROM traffic_hour WHERE hour < $1",
    prune_findings: "DELETE FROM finding_hour WHERE hour < $1",
};
