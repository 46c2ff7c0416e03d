//! Prometheus metrics of the milter: messages by direction, verdict and action, the time from
//! end-of-data to the answer, inspection failures, connections, reloads, and alerts about our own organisation
//! (an outbound account held, our domain spoofed).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::time::Duration;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MessageLabels {
    direction: &'static str,
    verdict: &'static str,
    action: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: &'static str,
}

pub struct Metrics {
    registry: Registry,
    messages: Family<MessageLabels, Counter>,
    latency: Histogram,
    failures: Family<KindLabels, Counter>,
    connections: Gauge,
    protocol_errors: Counter,
    reloads: Family<KindLabels, Counter>,
    alerts: Family<KindLabels, Counter>,
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("fumidai_milter");
        let messages = Family::<MessageLabels, Counter>::default();
        registry.register(
            "messages",
            "Messages answered, by direction, verdict and action taken",
            messages.clone(),
        );
        // 1 ms .. 32 s
        let latency = Histogram::new(exponential_buckets(0.001, 2.0, 16));
        registry.register(
            "message_duration_seconds",
            "Time from end-of-data to the answer",
            latency.clone(),
        );
        let failures = Family::<KindLabels, Counter>::default();
        registry.register(
            "inspection_failures",
            "Messages that could not be inspected (engine, store, timeout, oversize)",
            failures.clone(),
        );
        let connections = Gauge::default();
        registry.register(
            "connections",
            "Open connections from the MTA",
            connections.clone(),
        );
        let protocol_errors = Counter::default();
        registry.register(
            "protocol_errors",
            "Connections closed on a malformed milter frame",
            protocol_errors.clone(),
        );
        let reloads = Family::<KindLabels, Counter>::default();
        registry.register(
            "config_reloads",
            "Configuration reloads (SIGHUP) by result",
            reloads.clone(),
        );
        let alerts = Family::<KindLabels, Counter>::default();
        registry.register(
            "alerts_raised",
            "Alerts about our own organisation, by kind (account_held, domain_spoofed)",
            alerts.clone(),
        );
        Metrics {
            registry,
            messages,
            latency,
            failures,
            connections,
            protocol_errors,
            reloads,
            alerts,
        }
    }

    pub fn message(
        &self,
        direction: &'static str,
        verdict: &'static str,
        action: &'static str,
        took: Duration,
    ) {
        self.messages
            .get_or_create(&MessageLabels {
                direction,
                verdict,
                action,
            })
            .inc();
        self.latency.observe(took.as_secs_f64());
    }

    pub fn failure(&self, kind: &'static str) {
        self.failures.get_or_create(&KindLabels { kind }).inc();
    }

    pub fn connection_opened(&self) {
        self.connections.inc();
    }

    pub fn connection_closed(&self) {
        self.connections.dec();
    }

    pub fn protocol_error(&self) {
        self.protocol_errors.inc();
    }

    pub fn reload(&self, ok: bool) {
        let kind = if ok { "ok" } else { "failed" };
        self.reloads.get_or_create(&KindLabels { kind }).inc();
    }

    pub fn alert(&self, kind: &'static str) {
        self.alerts.get_or_create(&KindLabels { kind }).inc();
    }

    /// The OpenMetrics text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}
