//! Run-time configuration: the values the CLI hands to the library, and their parsers
//! (durations such as `2s`, `500ms`, `40m`, `1h`, `PT40M`; the `--faults` spec).

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Settings that shape the behaviour of the emulator (not how it is started).
#[derive(Clone, Debug)]
pub struct Config {
    /// How long an MTO join, removal or role change stays pending before it is processed.
    pub join_delay: Duration,
    /// Interval of a cross-tenant synchronization cycle (default `PT40M`): a started job's next
    /// cycle is due this long after the previous one ended (see [`crate::sync`]).
    pub sync_interval: Duration,
    /// The base URL clients reach the sandbox at (`http(s)://host:port`, no trailing slash):
    /// absolute URLs in answers (`@odata.nextLink`, `@odata.context`) are built from it, never
    /// from the request's `Host` header. The CLI sets it to the listening URL (or `--base-url`).
    pub base_url: String,
    /// How long a client connection may go without progress: its request headers must arrive
    /// within it (an idle keep-alive connection is closed after it too), and a request body may
    /// pause at most this long between chunks.
    pub idle_timeout: Duration,
    /// Lifetime of the access tokens the token and IMDS endpoints issue (`expires_in`).
    pub token_lifetime: Duration,
    /// Refuse a certificate client assertion whose `jti` was already presented. Off by
    /// default, as in Entra ID, which accepts MSAL's reuse of one assertion for several token
    /// requests (see docs/sandbox.md).
    pub reject_assertion_replay: bool,
}

/// Default of [`Config::idle_timeout`]: longer than the provider's idle connection pool (60 s),
/// so the sandbox never closes a kept-alive connection a client is about to reuse.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(75);

impl Default for Config {
    fn default() -> Self {
        Config {
            join_delay: Duration::from_secs(2),
            sync_interval: Duration::from_secs(40 * 60),
            base_url: "http://localhost".into(),
            idle_timeout: IDLE_TIMEOUT,
            token_lifetime: Duration::from_secs(crate::auth::TOKEN_LIFETIME_SECS as u64),
            reject_assertion_replay: false,
        }
    }
}

/// The longest duration any option accepts (a year): longer ones are typos, and would overflow
/// the millisecond arithmetic of due times.
pub const MAX_DURATION: Duration = Duration::from_secs(365 * 86400);

/// `secs` as a duration, refusing what is negative, not a number or beyond [`MAX_DURATION`].
fn checked_secs(secs: f64, s: &str) -> Result<Duration, String> {
    if !secs.is_finite() || secs < 0.0 {
        return Err(format!("invalid duration '{s}'"));
    }
    if secs > MAX_DURATION.as_secs_f64() {
        return Err(format!("duration '{s}' is too long (at most 365d)"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Parse `2s`, `500ms`, `40m`, `1h`, `1.5s`, a bare number of seconds, or ISO-8601 `PT40M` /
/// `PT1H30M` / `PT0.5S` / `P1D`; at most [`MAX_DURATION`].
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    if t.is_empty() {
        return Err("empty duration".into());
    }
    if t.starts_with('P') || t.starts_with('p') {
        let secs = parse_iso8601(t).ok_or_else(|| format!("invalid ISO-8601 duration '{s}'"))?;
        return checked_secs(secs, s);
    }
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num.parse().map_err(|_| format!("invalid duration '{s}'"))?;
    let secs = match unit.trim() {
        "" | "s" => n,
        "ms" => n / 1000.0,
        "m" | "min" => n * 60.0,
        "h" => n * 3600.0,
        "d" => n * 86400.0,
        _ => {
            return Err(format!(
                "invalid duration unit in '{s}' (use ms, s, m, h or PT..)"
            ));
        }
    };
    checked_secs(secs, s)
}

/// The `--sync-interval` option: a duration of at least 100 ms (zero would run cycles in a hot
/// loop; a long interval plus `POST /_sandbox/sync/run` gives cycles only on request).
pub fn parse_sync_interval(s: &str) -> Result<Duration, String> {
    let d = parse_duration(s)?;
    if d < MIN_SYNC_INTERVAL {
        return Err(format!(
            "'{s}' is too short: the interval must be at least 100ms (for cycles only on request use a long one, e.g. 1d, and POST /_sandbox/sync/run)"
        ));
    }
    Ok(d)
}

/// The shortest `--sync-interval`.
pub const MIN_SYNC_INTERVAL: Duration = Duration::from_millis(100);

/// Seconds of an ISO-8601 duration.
fn parse_iso8601(s: &str) -> Option<f64> {
    let s = s.to_ascii_uppercase();
    let rest = s.strip_prefix('P')?;
    let (date, time) = match rest.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (rest, None),
    };
    let mut secs = 0f64;
    let mut any = false;
    let mut take = |part: &str, units: &[(char, f64)]| -> Option<()> {
        let mut num = String::new();
        for c in part.chars() {
            if c.is_ascii_digit() || c == '.' {
                num.push(c);
            } else {
                let mult = units.iter().find(|(u, _)| *u == c)?.1;
                secs += num.parse::<f64>().ok()? * mult;
                num.clear();
                any = true;
            }
        }
        num.is_empty().then_some(())
    };
    take(date, &[('W', 604800.0), ('D', 86400.0)])?;
    if let Some(t) = time {
        if t.is_empty() {
            return None;
        }
        take(t, &[('H', 3600.0), ('M', 60.0), ('S', 1.0)])?;
    }
    any.then_some(secs)
}

/// Fault injection settings (`--faults` and `GET/PUT /_sandbox/faults`).
///
/// JSON form: `{"throttle":0.2,"unavailable":0.05,"lag":"2s","latency":"20ms","seed":42}`;
/// `lag` and `latency` also accept a number of milliseconds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    /// Probability (0..=1) that a Graph request gets 429 TooManyRequests.
    #[serde(default)]
    pub throttle: f64,
    /// Probability (0..=1) that a Graph request gets 503 ServiceUnavailable.
    #[serde(default)]
    pub unavailable: f64,
    /// Replication lag: objects younger than this read as absent.
    #[serde(default, with = "duration_serde")]
    pub lag: Duration,
    /// Delay added to every Graph request.
    #[serde(default, with = "duration_serde")]
    pub latency: Duration,
    /// RNG seed; the same seed and request sequence give the same faults.
    #[serde(default)]
    pub seed: u64,
}

impl FaultSpec {
    /// Parse `throttle=0.2,unavailable=0.05,lag=2s,latency=20ms,seed=42` (all parts optional).
    pub fn parse(spec: &str) -> Result<FaultSpec, String> {
        let mut f = FaultSpec::default();
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (k, v) = part
                .split_once('=')
                .ok_or_else(|| format!("fault '{part}' is not key=value"))?;
            let prob = |v: &str| -> Result<f64, String> {
                let p: f64 = v
                    .trim()
                    .parse()
                    .map_err(|_| format!("invalid probability '{v}'"))?;
                if (0.0..=1.0).contains(&p) {
                    Ok(p)
                } else {
                    Err(format!("probability '{v}' is not between 0 and 1"))
                }
            };
            match k.trim() {
                "throttle" => f.throttle = prob(v)?,
                "unavailable" => f.unavailable = prob(v)?,
                "lag" => f.lag = parse_duration(v)?,
                "latency" => f.latency = parse_duration(v)?,
                "seed" => {
                    f.seed = v
                        .trim()
                        .parse()
                        .map_err(|_| format!("invalid seed '{v}'"))?
                }
                other => {
                    return Err(format!(
                        "unknown fault '{other}' (known: throttle, unavailable, lag, latency, seed)"
                    ));
                }
            }
        }
        f.validate()?;
        Ok(f)
    }

    /// Check the probabilities and durations.
    pub fn validate(&self) -> Result<(), String> {
        for (name, d) in [("lag", self.lag), ("latency", self.latency)] {
            if d > MAX_DURATION {
                return Err(format!("{name} is too long (at most 365d)"));
            }
        }
        for (name, p) in [
            ("throttle", self.throttle),
            ("unavailable", self.unavailable),
        ] {
            if !(0.0..=1.0).contains(&p) {
                return Err(format!("{name} must be between 0 and 1"));
            }
        }
        Ok(())
    }
}

mod duration_serde {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{}ms", d.as_millis()))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Ms(u64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Ms(ms) => Ok(Duration::from_millis(ms)),
            Raw::Text(t) => super::parse_duration(&t).map_err(D::Error::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_accept_short_units_and_iso8601() {
        assert_eq!(parse_duration("2s").unwrap(), Duration::from_secs(2));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("40m").unwrap(), Duration::from_secs(2400));
        assert_eq!(parse_duration("1h").unwrap(), Duration::from_secs(3600));
        assert_eq!(parse_duration("PT40M").unwrap(), Duration::from_secs(2400));
        assert_eq!(
            parse_duration("PT1H30M").unwrap(),
            Duration::from_secs(5400)
        );
        assert_eq!(
            parse_duration("PT0.5S").unwrap(),
            Duration::from_millis(500)
        );
        assert_eq!(parse_duration("P1D").unwrap(), Duration::from_secs(86400));
        assert!(parse_duration("PT").is_err());
        assert!(parse_duration("2x").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn huge_or_zero_durations_are_errors_not_panics() {
        for s in [
            "100000000000000000000000s",
            "1e30",
            "99999999999999999999d",
            "P99999999999999999999D",
            "PT1e400S",
            "366d",
        ] {
            assert!(parse_duration(s).is_err(), "{s}");
        }
        assert_eq!(parse_duration("365d").unwrap(), MAX_DURATION);
        assert!(parse_sync_interval("0s").is_err());
        assert!(parse_sync_interval("PT0S").is_err());
        assert_eq!(parse_sync_interval("1s").unwrap(), Duration::from_secs(1));
        let f: Result<FaultSpec, _> = serde_json::from_str(r#"{"lag": 18446744073709551615}"#);
        assert!(f.unwrap().validate().is_err());
    }

    #[test]
    fn fault_spec_parses_all_knobs() {
        let f =
            FaultSpec::parse("throttle=0.2,unavailable=0.05,lag=2s,latency=20ms,seed=42").unwrap();
        assert_eq!(f.throttle, 0.2);
        assert_eq!(f.unavailable, 0.05);
        assert_eq!(f.lag, Duration::from_secs(2));
        assert_eq!(f.latency, Duration::from_millis(20));
        assert_eq!(f.seed, 42);
        assert!(FaultSpec::parse("throttle=2").is_err());
        assert!(FaultSpec::parse("boom=1").is_err());
    }

    #[test]
    fn fault_spec_json_accepts_strings_and_millis() {
        let f: FaultSpec = serde_json::from_str(r#"{"lag":"1s","latency":15}"#).unwrap();
        assert_eq!(f.lag, Duration::from_secs(1));
        assert_eq!(f.latency, Duration::from_millis(15));
        assert!(serde_json::from_str::<FaultSpec>(r#"{"nope":1}"#).is_err());
    }
}
