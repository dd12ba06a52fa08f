//! Logging through `tracing` (human-readable by default, JSON with
//! `LATCH_LOG_FORMAT=json`; `RUST_LOG` filters as usual) and the node's
//! Prometheus registry, which `/metrics` renders and every part may add to.

use std::sync::Mutex;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;
use tracing_subscriber::EnvFilter;

pub fn init(format: &str) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,actix_server=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colour only for a person at a terminal: a log redirected to a file
        // or a pipe carries no escape sequences.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let _ = if format == "json" {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub method: String,
    pub route: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub route: String,
}

pub struct Metrics {
    registry: Mutex<Registry>,
    pub requests: Family<RequestLabels, Counter>,
    pub latency: Family<RouteLabels, Histogram>,
}

impl Default for Metrics {
    fn default() -> Self {
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.0001, 2.0, 16))
        });
        let mut registry = Registry::with_prefix("latch");
        registry.register(
            "http_requests",
            "HTTP requests by method, route and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by route",
            latency.clone(),
        );
        Metrics {
            registry: Mutex::new(registry),
            requests,
            latency,
        }
    }
}

impl Metrics {
    /// Lets other parts add their own metrics.
    pub fn register(
        &self,
        name: &str,
        help: &str,
        metric: impl prometheus_client::registry::Metric,
    ) {
        if let Ok(mut registry) = self.registry.lock() {
            registry.register(name, help, metric);
        }
    }

    /// Lets other parts add metrics read at every scrape.
    pub fn register_collector(&self, collector: impl Collector) {
        if let Ok(mut registry) = self.registry.lock() {
            registry.register_collector(Box::new(collector));
        }
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        if let Ok(registry) = self.registry.lock() {
            let _ = prometheus_client::encoding::text::encode(&mut out, &registry);
        }
        out
    }
}

/// Reads how many entries one in-memory structure holds.
type SizeReader = Box<dyn Fn() -> usize + Send + Sync>;

/// `latch_in_memory_entries{structure="…"}`: how many entries each
/// in-memory structure that grows with traffic holds, read at every
/// scrape. Each should fall back once the tokens it concerns expire; one
/// that only climbs is a leak, and a flat count under a climbing RSS is
/// the allocator's, not Latch's.
#[derive(Default)]
pub struct InMemorySizes {
    readers: Vec<(&'static str, SizeReader)>,
}

impl InMemorySizes {
    pub fn with(
        mut self,
        structure: &'static str,
        read: impl Fn() -> usize + Send + Sync + 'static,
    ) -> Self {
        self.readers.push((structure, Box::new(read)));
        self
    }
}

impl std::fmt::Debug for InMemorySizes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.readers.iter().map(|(structure, _)| structure))
            .finish()
    }
}

impl Collector for InMemorySizes {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let mut metric = encoder.encode_descriptor(
            "in_memory_entries",
            "Entries held by each in-memory structure that grows with traffic",
            None,
            MetricType::Gauge,
        )?;
        for (structure, read) in &self.readers {
            let labels = [("structure", *structure)];
            let gauge = ConstGauge::new(i64::try_from(read()).unwrap_or(i64::MAX));
            gauge.encode(metric.encode_family(&labels)?)?;
        }
        Ok(())
    }
}
