//! Terraform numbers: arbitrary precision decimals.
//!
//! Most numbers fit an `i64` or an `f64`, and those stay native. Anything
//! else (integers beyond 64 bits, decimals with more precision than a double)
//! is kept as its decimal text, which is also how Terraform sends such
//! numbers over msgpack, so nothing is lost on a round trip.

use std::fmt;

/// A number as Terraform has it: arbitrary precision, kept exactly.
#[derive(Clone, Debug)]
pub enum Number {
    /// An integer that fits 64 bits.
    Int(i64),
    /// A double that reproduces the number exactly.
    Float(f64),
    /// A normalized decimal string (`-12.5`, `123456789012345678901234567890`).
    Big(String),
}

/// Text that is not a decimal number.
#[derive(Debug, thiserror::Error)]
#[error("{0:?} is not a number")]
pub struct NumberError(pub String);

impl Number {
    /// A double, as an integer when it is one.
    pub fn from_f64(f: f64) -> Number {
        if f.is_finite() && f.fract() == 0.0 && f.abs() < 9.0e15 {
            Number::Int(f as i64)
        } else {
            Number::Float(f)
        }
    }

    /// An unsigned integer, as decimal text beyond `i64`.
    pub fn from_u64(u: u64) -> Number {
        match i64::try_from(u) {
            Ok(i) => Number::Int(i),
            Err(_) => Number::Big(u.to_string()),
        }
    }

    /// Parses decimal text (optionally with an exponent), keeping every digit.
    pub fn parse(text: &str) -> Result<Number, NumberError> {
        let canonical = canonical_decimal(text).ok_or_else(|| NumberError(text.to_owned()))?;
        if let Ok(i) = canonical.parse::<i64>() {
            return Ok(Number::Int(i));
        }
        // A double is only used where it reproduces the text exactly.
        if let Ok(f) = canonical.parse::<f64>()
            && f.is_finite()
            && canonical_decimal(&format!("{f}")).as_deref() == Some(canonical.as_str())
        {
            return Ok(Number::Float(f));
        }
        Ok(Number::Big(canonical))
    }

    /// The number as an integer, when it is one that fits.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Number::Int(i) => Some(*i),
            Number::Float(f) if f.fract() == 0.0 && f.abs() < 9.2e18 => Some(*f as i64),
            _ => None,
        }
    }

    /// The nearest double (lossy for big numbers).
    pub fn as_f64(&self) -> f64 {
        match self {
            Number::Int(i) => *i as f64,
            Number::Float(f) => *f,
            Number::Big(s) => s.parse().unwrap_or(f64::NAN),
        }
    }

    /// Canonical decimal text: no exponent, no superfluous zeros.
    pub fn to_decimal_string(&self) -> String {
        match self {
            Number::Int(i) => i.to_string(),
            Number::Float(f) if f.is_finite() => {
                canonical_decimal(&format!("{f}")).unwrap_or_else(|| f.to_string())
            }
            Number::Float(f) => f.to_string(),
            Number::Big(s) => s.clone(),
        }
    }
}

impl PartialEq for Number {
    fn eq(&self, other: &Number) -> bool {
        match (self, other) {
            (Number::Int(a), Number::Int(b)) => a == b,
            (Number::Float(a), Number::Float(b)) => a == b,
            _ => self.to_decimal_string() == other.to_decimal_string(),
        }
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_decimal_string())
    }
}

impl From<i64> for Number {
    fn from(i: i64) -> Number {
        Number::Int(i)
    }
}

/// Rewrites decimal text (`+001.2300e2`) as `123`; `None` if it is not a
/// number. Exponents are bounded so hostile input cannot ask for a string of
/// a billion zeros.
fn canonical_decimal(text: &str) -> Option<String> {
    let text = text.trim();
    let (negative, rest) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let (mantissa, exponent) = match rest.find(['e', 'E']) {
        Some(i) => (&rest[..i], rest[i + 1..].parse::<i64>().ok()?),
        None => (rest, 0),
    };
    if !(-4096..=4096).contains(&exponent) {
        return None;
    }
    let (int_part, frac_part) = match mantissa.find('.') {
        Some(i) => (&mantissa[..i], &mantissa[i + 1..]),
        None => (mantissa, ""),
    };
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    if !int_part
        .bytes()
        .chain(frac_part.bytes())
        .all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let digits: String = format!("{int_part}{frac_part}");
    // Position of the decimal point within `digits`.
    let point = int_part.len() as i64 + exponent;
    let (mut int_digits, mut frac_digits) = if point <= 0 {
        (String::new(), "0".repeat((-point) as usize) + &digits)
    } else if point as usize >= digits.len() {
        (
            digits.clone() + &"0".repeat(point as usize - digits.len()),
            String::new(),
        )
    } else {
        (
            digits[..point as usize].to_owned(),
            digits[point as usize..].to_owned(),
        )
    };
    let trimmed = int_digits.trim_start_matches('0').len();
    int_digits = int_digits[int_digits.len() - trimmed..].to_owned();
    while frac_digits.ends_with('0') {
        frac_digits.pop();
    }
    if int_digits.is_empty() {
        int_digits.push('0');
    }
    let zero = int_digits == "0" && frac_digits.is_empty();
    let mut out = String::new();
    if negative && !zero {
        out.push('-');
    }
    out.push_str(&int_digits);
    if !frac_digits.is_empty() {
        out.push('.');
        out.push_str(&frac_digits);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_forms() {
        assert_eq!(canonical_decimal("+001.2300e2").unwrap(), "123");
        assert_eq!(canonical_decimal("-0.000").unwrap(), "0");
        assert_eq!(canonical_decimal("1.5e-3").unwrap(), "0.0015");
        assert_eq!(canonical_decimal(".5").unwrap(), "0.5");
        assert!(canonical_decimal("1e99999999").is_none());
        assert!(canonical_decimal("abc").is_none());
        assert!(canonical_decimal("-").is_none());
        assert!(canonical_decimal("1.2.3").is_none());
    }

    #[test]
    fn parse_keeps_big_numbers_exact() {
        let n = Number::parse("123456789012345678901234567890").unwrap();
        assert!(matches!(n, Number::Big(_)));
        assert_eq!(n.to_string(), "123456789012345678901234567890");
        let p = Number::parse("0.1000000000000000000000000001").unwrap();
        assert!(matches!(p, Number::Big(_)));
        assert_eq!(Number::parse("42").unwrap(), Number::Int(42));
        assert_eq!(Number::parse("0.5").unwrap(), Number::Float(0.5));
    }

    #[test]
    fn equality_crosses_representations() {
        assert_eq!(Number::from_f64(3.0), Number::Int(3));
        assert_eq!(Number::Big("0.5".into()), Number::Float(0.5));
        assert_ne!(Number::Int(1), Number::Float(1.5));
        assert_eq!(
            Number::from_u64(u64::MAX).to_string(),
            "18446744073709551615"
        );
    }
}
