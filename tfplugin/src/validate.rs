//! Configuration validation driven by the schema, plus the common validators.

use std::time::Duration;

use crate::diag::{AttributePath, Diagnostics};
use crate::schema::{AttributeType, Block, BlockNesting, ObjectNesting, Validator};
use crate::value::Value;

/// Runs every attribute's validators over a configuration value, and refuses
/// values for computed-only attributes (Terraform itself does not).
/// Unknown values are skipped: they are checked again once known.
pub fn validate_block(
    block: &Block,
    config: &Value,
    path: &AttributePath,
    diags: &mut Diagnostics,
) {
    if config.is_null() || config.is_unknown() {
        return;
    }
    for a in &block.attributes {
        let v = config.get(&a.name);
        let here = path.attr(&a.name);
        if a.computed && !a.optional && !a.required && !v.is_null() {
            diags.error_at(
                here,
                "Value for unconfigurable attribute",
                format!(
                    "Can't configure a value for \"{}\": its value is decided by the provider.",
                    a.name
                ),
            );
            continue;
        }
        if v.is_null() || v.is_unknown() {
            continue;
        }
        for validator in &a.validators {
            validator.validate(v, &here, diags);
        }
        if let AttributeType::Nested {
            nesting,
            attributes,
        } = &a.ty
        {
            let inner = Block {
                attributes: attributes.clone(),
                ..Block::default()
            };
            match nesting {
                ObjectNesting::Single => validate_block(&inner, v, &here, diags),
                ObjectNesting::List => {
                    for (i, item) in v.as_slice().unwrap_or_default().iter().enumerate() {
                        validate_block(&inner, item, &here.index(i as i64), diags);
                    }
                }
                ObjectNesting::Set => {
                    for item in v.as_slice().unwrap_or_default() {
                        validate_block(&inner, item, &here, diags);
                    }
                }
                ObjectNesting::Map => {
                    for (k, item) in v.as_map().into_iter().flatten() {
                        validate_block(&inner, item, &here.key(k), diags);
                    }
                }
            }
        }
    }
    for b in &block.blocks {
        let v = config.get(&b.type_name);
        let here = path.attr(&b.type_name);
        match b.nesting {
            BlockNesting::Single | BlockNesting::Group => validate_block(&b.block, v, &here, diags),
            BlockNesting::List => {
                for (i, item) in v.as_slice().unwrap_or_default().iter().enumerate() {
                    validate_block(&b.block, item, &here.index(i as i64), diags);
                }
            }
            BlockNesting::Set => {
                for item in v.as_slice().unwrap_or_default() {
                    validate_block(&b.block, item, &here, diags);
                }
            }
            BlockNesting::Map => {
                for (k, item) in v.as_map().into_iter().flatten() {
                    validate_block(&b.block, item, &here.key(k), diags);
                }
            }
        }
    }
}

/// Whether `s` is a GUID in its usual 8-4-4-4-12 hex form.
pub fn is_guid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// A string that must be a GUID.
pub struct Guid;

impl Validator for Guid {
    fn description(&self) -> String {
        "Must be a GUID such as `00000000-0000-0000-0000-000000000000`.".into()
    }

    fn validate(&self, value: &Value, path: &AttributePath, diags: &mut Diagnostics) {
        if let Some(s) = value.as_str()
            && !is_guid(s)
        {
            diags.error_at(
                path.clone(),
                "Invalid GUID",
                format!(
                    "{path} must be a GUID such as 00000000-0000-0000-0000-000000000000, got {s:?}."
                ),
            );
        }
    }
}

/// A string from a fixed set of choices.
pub struct OneOf(pub &'static [&'static str]);

impl Validator for OneOf {
    fn description(&self) -> String {
        let quoted: Vec<String> = self.0.iter().map(|c| format!("`{c}`")).collect();
        format!("One of {}.", quoted.join(", "))
    }

    fn validate(&self, value: &Value, path: &AttributePath, diags: &mut Diagnostics) {
        if let Some(s) = value.as_str()
            && !self.0.contains(&s)
        {
            diags.error_at(
                path.clone(),
                "Invalid value",
                format!("{path} must be one of {}, got {s:?}.", self.0.join(", ")),
            );
        }
    }
}

/// A string that is not empty or blank.
pub struct NotBlank;

impl Validator for NotBlank {
    fn description(&self) -> String {
        "Must not be empty.".into()
    }

    fn validate(&self, value: &Value, path: &AttributePath, diags: &mut Diagnostics) {
        if value.as_str().is_some_and(|s| s.trim().is_empty()) {
            diags.error_at(
                path.clone(),
                "Empty value",
                format!("{path} must not be empty."),
            );
        }
    }
}

/// A duration such as `30s`, `5m` or `1h30m` (Go's syntax, as in `timeouts`).
pub struct DurationString;

impl Validator for DurationString {
    fn description(&self) -> String {
        "A duration such as `30s`, `10m` or `1h30m`.".into()
    }

    fn validate(&self, value: &Value, path: &AttributePath, diags: &mut Diagnostics) {
        if let Some(s) = value.as_str()
            && parse_duration(s).is_none()
        {
            diags.error_at(
                path.clone(),
                "Invalid duration",
                format!(
                    "{path} must be a duration such as \"30s\", \"10m\" or \"1h30m\", got {s:?}."
                ),
            );
        }
    }
}

/// Applies a validator to every element of a list or set (element paths for
/// lists; sets cannot address elements, so their errors name the set).
pub struct Each<V>(pub V);

impl<V: Validator> Validator for Each<V> {
    fn description(&self) -> String {
        format!("Each element: {}", self.0.description())
    }

    fn validate(&self, value: &Value, path: &AttributePath, diags: &mut Diagnostics) {
        let is_list = matches!(value, Value::List(_) | Value::Tuple(_));
        for (i, item) in value.as_slice().unwrap_or_default().iter().enumerate() {
            if item.is_null() || item.is_unknown() {
                continue;
            }
            let here = if is_list {
                path.index(i as i64)
            } else {
                path.clone()
            };
            self.0.validate(item, &here, diags);
        }
    }
}

/// A list or set with at least `min` elements.
pub struct MinItems(pub usize);

impl Validator for MinItems {
    fn description(&self) -> String {
        format!("At least {} element(s).", self.0)
    }

    fn validate(&self, value: &Value, path: &AttributePath, diags: &mut Diagnostics) {
        if let Some(items) = value.as_slice()
            && items.len() < self.0
        {
            diags.error_at(
                path.clone(),
                "Too few elements",
                format!(
                    "{path} needs at least {} element(s), got {}.",
                    self.0,
                    items.len()
                ),
            );
        }
    }
}

/// Parses Go-style durations: a sequence of `<number><unit>` with units
/// `ms`, `s`, `m`, `h`. Bounded to a day's worth of hours times 366 so a typo
/// cannot overflow.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if s == "0" {
        return Some(Duration::ZERO);
    }
    let mut total = 0f64;
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if num_len == 0 {
            return None;
        }
        let n: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let factor = match &rest[..unit_len] {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total += n * factor;
    }
    (total <= 366.0 * 24.0 * 3600.0).then(|| Duration::from_secs_f64(total))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Attribute;

    #[test]
    fn guid_shape() {
        assert!(is_guid("0e7b5a1c-1a2b-4c3d-8e9f-0a1b2c3d4e5f"));
        assert!(!is_guid("not-a-guid"));
        assert!(!is_guid("0e7b5a1c1a2b4c3d8e9f0a1b2c3d4e5f0000"));
        assert!(!is_guid("0e7b5a1c-1a2b-4c3d-8e9f-0a1b2c3d4e5g"));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("1.5s"), Some(Duration::from_millis(1500)));
        for bad in ["", "5", "5x", "m", "99999h", "-1s"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn validation_names_paths_and_skips_unknowns() {
        let block = Block::new()
            .attribute(Attribute::string("tenant_id").required().validator(Guid))
            .attribute(Attribute::string("id").computed())
            .attribute(
                Attribute::new("ids", crate::types::Type::list(crate::types::Type::String))
                    .optional()
                    .validator(Each(Guid)),
            );
        let config = Value::object([
            ("tenant_id", "nope".into()),
            ("id", "set-by-user".into()),
            ("ids", Value::List(vec![Value::unknown(), "bad".into()])),
        ]);
        let mut d = Diagnostics::new();
        validate_block(&block, &config, &AttributePath::root(), &mut d);
        let paths: Vec<String> = d
            .iter()
            .map(|d| d.path.as_ref().unwrap().to_string())
            .collect();
        assert_eq!(paths, ["tenant_id", "id", "ids[1]"]);

        let unknown = Value::object([
            ("tenant_id", Value::unknown()),
            ("id", Value::Null),
            ("ids", Value::Null),
        ]);
        let mut d = Diagnostics::new();
        validate_block(&block, &unknown, &AttributePath::root(), &mut d);
        assert!(d.is_empty());
    }
}
