//! The dashboard's counters on SQLite: their SQL text (the bodies are in [`crate::traffic`]). A call's upserts run
//! on the store's one writer connection in a `BEGIN IMMEDIATE` transaction, so another process on the same file
//! waits for the write lock and the counts add up.

use crate::traffic::TrafficSql;

pub(super) const SQL: TrafficSql = TrafficSql {
    begin: "BEGIN IMMEDIATE",
    add_traffic: "INSERT INTO traffic_hour (hour, direction, verdict, action, messages) VALUES (?1, ?2, ?3, ?4, ?5)
        ON CONFLICT (hour, direction, verdict, action) DO UPDATE SET messages = messages + excluded.messages",
    add_finding: "INSERT INTO finding_hour (hour, finding, messages) VALUES (?1, ?2, ?3)
        ON CONFLICT (hour, finding) DO UPDATE SET messages = messages + excluded.messages",
    traffic: "SELECT hour, direction, verdict, action, messages FROM traffic_hour WHERE hour >= ?1 AND hour < ?2
        ORDER BY hour, direction, verdict, action",
    top_findings: "SELECT finding, sum(messages) AS total FROM finding_hour WHERE hour >= ?1 AND hour < ?2
        GROUP BY finding ORDER BY total DESC, finding LIMIT ?3",
    prune_traffic: "DELETE FROM traffic_hour WHERE hour < ?1",
    prune_findings: "DELETE FROM finding_hour WHERE hour < ?1",
};
