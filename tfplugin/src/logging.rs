//! Logs in the form Terraform's plugin host understands.
//!
//! go-plugin reads the provider's stderr line by line and re-logs a JSON line
//! with `@level` and `@message` at that level (hclog's format), so `TF_LOG`
//! decides what users see. The level comes from `TF_LOG_PROVIDER`, falling
//! back to `TF_LOG`, like Terraform's own providers; unset means warnings
//! and errors only.

use std::io::Write;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

/// Installs the global subscriber. `module` names the provider in log lines.
pub fn init(module: &'static str) {
    let level = std::env::var("TF_LOG_PROVIDER")
        .ok()
        .filter(|v| !v.is_empty())
        .or_else(|| std::env::var("TF_LOG").ok())
        .and_then(|v| parse_level(&v))
        .unwrap_or(Some(Level::WARN));
    let Some(level) = level else { return };
    let subscriber = tracing_subscriber::registry().with(HclogLayer { module, max: level });
    let _ = tracing::subscriber::set_global_default(subscriber);
}

/// `Some(None)` means logging is off.
fn parse_level(v: &str) -> Option<Option<Level>> {
    match v.trim().to_ascii_lowercase().as_str() {
        "trace" | "json" => Some(Some(Level::TRACE)),
        "debug" => Some(Some(Level::DEBUG)),
        "info" => Some(Some(Level::INFO)),
        "warn" => Some(Some(Level::WARN)),
        "error" => Some(Some(Level::ERROR)),
        "off" => Some(None),
        _ => None,
    }
}

/// hclog's own timestamp layout, microseconds and all: go-plugin parses a
/// line's `@timestamp` with exactly this layout and, when it does not match
/// (nanoseconds, say), relogs the whole JSON line as a debug message, so
/// the provider's warnings and errors would vanish below `TF_LOG=debug`.
const HCLOG_TIMESTAMP: &[time::format_description::BorrowedFormatItem<'static>] = time::macros::format_description!(
    "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
);

struct HclogLayer {
    module: &'static str,
    max: Level,
}

#[derive(Default)]
struct Fields {
    message: String,
    rest: serde_json::Map<String, serde_json::Value>,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = value.to_owned();
        } else {
            self.rest.insert(field.name().to_owned(), value.into());
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.rest.insert(field.name().to_owned(), value.into());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.rest.insert(field.name().to_owned(), value.into());
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.rest.insert(field.name().to_owned(), value.into());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let text = format!("{value:?}");
        if field.name() == "message" {
            self.message = text;
        } else {
            self.rest.insert(field.name().to_owned(), text.into());
        }
    }
}

/// Crates under the gRPC server and the HTTP client. At debug they log
/// every HTTP/2 frame and pooled connection (thousands of lines per plan,
/// drowning the provider's own lines), so they speak at info and above
/// unless the user asked for trace.
const TRANSPORT_CRATES: &[&str] = &[
    "h2",
    "hyper",
    "hyper_util",
    "tonic",
    "tower",
    "rustls",
    "tokio_rustls",
    "reqwest",
    "want",
    "mio",
];

impl HclogLayer {
    fn allows(&self, metadata: &tracing::Metadata<'_>) -> bool {
        *metadata.level() <= self.max_for(metadata.target())
    }

    /// The most verbose level logged for events of `target`.
    fn max_for(&self, target: &str) -> Level {
        if self.max < Level::TRACE && is_transport(target) {
            self.max.min(Level::INFO)
        } else {
            self.max
        }
    }
}

fn is_transport(target: &str) -> bool {
    let krate = target.split("::").next().unwrap_or(target);
    TRANSPORT_CRATES.contains(&krate)
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for HclogLayer {
    fn enabled(&self, metadata: &tracing::Metadata<'_>, _ctx: Context<'_, S>) -> bool {
        self.allows(metadata)
    }

    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        if !self.allows(event.metadata()) {
            return;
        }
        let mut fields = Fields::default();
        event.record(&mut fields);
        let level = match *event.metadata().level() {
            Level::TRACE => "trace",
            Level::DEBUG => "debug",
            Level::INFO => "info",
            Level::WARN => "warn",
            Level::ERROR => "error",
        };
        let mut line = fields.rest;
        line.insert("@level".into(), level.into());
        line.insert("@message".into(), fields.message.into());
        line.insert("@module".into(), self.module.into());
        if let Ok(now) = time::OffsetDateTime::now_utc().format(HCLOG_TIMESTAMP) {
            line.insert("@timestamp".into(), now.into());
        }
        let mut out = serde_json::to_vec(&line).unwrap_or_default();
        out.push(b'\n');
        let _ = std::io::stderr().lock().write_all(&out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels() {
        assert_eq!(parse_level("DEBUG"), Some(Some(Level::DEBUG)));
        assert_eq!(parse_level("off"), Some(None));
        assert_eq!(parse_level("bogus"), None);
    }

    #[test]
    fn timestamps_have_the_microseconds_go_plugin_parses() {
        let t = time::macros::datetime!(2026-12-02 22:20:39.728123456 UTC);
        assert_eq!(
            t.format(HCLOG_TIMESTAMP).unwrap(),
            "2026-12-02T22:20:39.728123Z"
        );
    }

    #[test]
    fn transport_crates_are_quiet_at_debug_and_heard_at_trace() {
        assert!(is_transport("h2::codec::framed_read"));
        assert!(is_transport("hyper_util::client::legacy::pool"));
        assert!(!is_transport("mto_provider::graph::client"));
        assert!(!is_transport("h2o"));
        let debug = HclogLayer {
            module: "t",
            max: Level::DEBUG,
        };
        let trace = HclogLayer {
            module: "t",
            max: Level::TRACE,
        };
        let warn = HclogLayer {
            module: "t",
            max: Level::WARN,
        };
        assert_eq!(debug.max_for("h2::proto"), Level::INFO);
        assert_eq!(debug.max_for("mto_provider::graph"), Level::DEBUG);
        assert_eq!(trace.max_for("h2::proto"), Level::TRACE);
        assert_eq!(warn.max_for("hyper::client"), Level::WARN);
    }
}
