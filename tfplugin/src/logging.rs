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

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for HclogLayer {
    fn enabled(&self, metadata: &tracing::Metadata<'_>, _ctx: Context<'_, S>) -> bool {
        *metadata.level() <= self.max
    }

    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        if *event.metadata().level() > self.max {
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
        if let Ok(now) =
            time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339)
        {
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
}
