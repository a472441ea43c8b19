//! The conventional `timeouts { create = "10m" }` block.

use std::time::Duration;

use crate::schema::{Attribute, Block, NestedBlock};
use crate::validate::{DurationString, parse_duration};
use crate::value::Value;

/// A `timeouts` block with one optional duration per operation, described
/// by `description` (for example, what the operations wait for).
pub fn block(description: &str, operations: &[(&str, Duration)]) -> NestedBlock {
    let mut b = Block::new().description(description.to_owned());
    for (op, default) in operations {
        b = b.attribute(
            Attribute::string(*op)
                .optional()
                .validator(DurationString)
                .description(format!(
                    "A duration such as `30s` or `10m`; defaults to `{}`.",
                    humanize(*default)
                )),
        );
    }
    NestedBlock::single("timeouts", b)
}

/// The timeout for `operation` configured on a resource object, or `default`.
pub fn get(resource: &Value, operation: &str, default: Duration) -> Duration {
    resource
        .get("timeouts")
        .get(operation)
        .as_str()
        .and_then(parse_duration)
        .unwrap_or(default)
}

fn humanize(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 && s.is_multiple_of(3600) {
        format!("{}h", s / 3600)
    } else if s >= 60 && s.is_multiple_of(60) {
        format!("{}m", s / 60)
    } else {
        format!("{s}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configured_value_wins_over_default() {
        let r = Value::object([(
            "timeouts",
            Value::object([("create", Value::from("90s")), ("delete", Value::Null)]),
        )]);
        assert_eq!(
            get(&r, "create", Duration::from_secs(5)),
            Duration::from_secs(90)
        );
        assert_eq!(
            get(&r, "delete", Duration::from_secs(5)),
            Duration::from_secs(5)
        );
        assert_eq!(
            get(&Value::Null, "create", Duration::from_secs(7)),
            Duration::from_secs(7)
        );
        assert_eq!(humanize(Duration::from_secs(600)), "10m");
    }
}
