//! Diagnostics: what a provider tells the user, optionally pinned to an
//! attribute so Terraform can point at the file and line.

use std::fmt;

/// One step of an attribute path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PathStep {
    /// An object attribute or block by name.
    Attr(String),
    /// A map element by key.
    Key(String),
    /// A list or tuple element by index. (Set elements cannot be addressed.)
    Index(i64),
}

/// A path from the root of a configuration or state object down to a value.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AttributePath(Vec<PathStep>);

impl AttributePath {
    /// The empty path: the whole object.
    pub fn root() -> AttributePath {
        AttributePath(Vec::new())
    }

    /// A path from its steps, outermost first.
    pub fn from_steps(steps: Vec<PathStep>) -> AttributePath {
        AttributePath(steps)
    }

    /// The steps, outermost first.
    pub fn steps(&self) -> &[PathStep] {
        &self.0
    }

    /// Whether this is the empty path.
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// This path extended by an attribute or block name.
    #[must_use]
    pub fn attr(&self, name: impl Into<String>) -> AttributePath {
        let mut p = self.clone();
        p.0.push(PathStep::Attr(name.into()));
        p
    }

    /// This path extended by a map key.
    #[must_use]
    pub fn key(&self, key: impl Into<String>) -> AttributePath {
        let mut p = self.clone();
        p.0.push(PathStep::Key(key.into()));
        p
    }

    /// This path extended by a list index.
    #[must_use]
    pub fn index(&self, i: i64) -> AttributePath {
        let mut p = self.clone();
        p.0.push(PathStep::Index(i));
        p
    }
}

impl fmt::Display for AttributePath {
    /// HCL-like spelling: `tenant[0].tenant_id`, `tags["env"]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, step) in self.0.iter().enumerate() {
            match step {
                PathStep::Attr(name) if i == 0 => f.write_str(name)?,
                PathStep::Attr(name) => write!(f, ".{name}")?,
                PathStep::Key(k) => write!(f, "[{k:?}]")?,
                PathStep::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// How bad a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    /// Stops the operation.
    Error,
    /// Shown, but the operation goes on.
    Warning,
}

/// One message for the user: severity, summary, detail and optionally the
/// attribute it is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// One line.
    pub summary: String,
    /// Everything else the user needs to fix it.
    pub detail: String,
    /// The attribute at fault, if there is one.
    pub path: Option<AttributePath>,
}

impl Diagnostic {
    /// An error.
    pub fn error(summary: impl Into<String>, detail: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            summary: summary.into(),
            detail: detail.into(),
            path: None,
        }
    }

    /// A warning.
    pub fn warning(summary: impl Into<String>, detail: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            summary: summary.into(),
            detail: detail.into(),
            path: None,
        }
    }

    /// The same diagnostic, pinned to an attribute.
    #[must_use]
    pub fn at(mut self, path: AttributePath) -> Diagnostic {
        self.path = Some(path);
        self
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Error => "Error",
            Severity::Warning => "Warning",
        };
        write!(f, "{sev}: {}", self.summary)?;
        if let Some(p) = &self.path {
            write!(f, " (at {p})")?;
        }
        if !self.detail.is_empty() {
            write!(f, ": {}", self.detail)?;
        }
        Ok(())
    }
}

/// An ordered list of diagnostics. Handlers append and return; whoever
/// called them checks [`Diagnostics::has_errors`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Diagnostics(Vec<Diagnostic>);

impl Diagnostics {
    /// No diagnostics.
    pub fn new() -> Diagnostics {
        Diagnostics(Vec::new())
    }

    /// Appends one diagnostic.
    pub fn push(&mut self, d: Diagnostic) {
        self.0.push(d);
    }

    /// Appends an error.
    pub fn error(&mut self, summary: impl Into<String>, detail: impl Into<String>) {
        self.push(Diagnostic::error(summary, detail));
    }

    /// Appends an error about the attribute at `path`.
    pub fn error_at(
        &mut self,
        path: AttributePath,
        summary: impl Into<String>,
        detail: impl Into<String>,
    ) {
        self.push(Diagnostic::error(summary, detail).at(path));
    }

    /// Appends a warning.
    pub fn warning(&mut self, summary: impl Into<String>, detail: impl Into<String>) {
        self.push(Diagnostic::warning(summary, detail));
    }

    /// Appends a warning about the attribute at `path`.
    pub fn warning_at(
        &mut self,
        path: AttributePath,
        summary: impl Into<String>,
        detail: impl Into<String>,
    ) {
        self.push(Diagnostic::warning(summary, detail).at(path));
    }

    /// Appends all of `other`.
    pub fn extend(&mut self, other: Diagnostics) {
        self.0.extend(other.0);
    }

    /// Whether any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.0.iter().any(|d| d.severity == Severity::Error)
    }

    /// Whether there are none at all.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The diagnostics in order.
    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter()
    }

    /// The diagnostics as a vector.
    pub fn into_vec(self) -> Vec<Diagnostic> {
        self.0
    }

    /// Records the error of a failed `r` and returns `None`, or returns the
    /// success value, so a handler can stop at the first failure:
    /// `let Some(x) = resp.diags.take_err(f()) else { return };`
    pub fn take_err<T, E: Into<Diagnostics>>(&mut self, r: Result<T, E>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.extend(e.into());
                None
            }
        }
    }
}

impl From<Diagnostic> for Diagnostics {
    fn from(d: Diagnostic) -> Diagnostics {
        Diagnostics(vec![d])
    }
}

impl FromIterator<Diagnostic> for Diagnostics {
    fn from_iter<I: IntoIterator<Item = Diagnostic>>(iter: I) -> Diagnostics {
        Diagnostics(iter.into_iter().collect())
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_display_reads_like_hcl() {
        let p = AttributePath::root()
            .attr("tenant")
            .index(0)
            .attr("tenant_id");
        assert_eq!(p.to_string(), "tenant[0].tenant_id");
        assert_eq!(
            AttributePath::root().attr("tags").key("env").to_string(),
            "tags[\"env\"]"
        );
    }

    #[test]
    fn warnings_are_not_errors() {
        let mut d = Diagnostics::new();
        d.warning("w", "");
        assert!(!d.has_errors());
        d.error_at(AttributePath::root().attr("x"), "e", "detail");
        assert!(d.has_errors());
        assert!(d.to_string().contains("(at x)"));
    }

    #[test]
    fn take_err_records_the_error_and_returns_none() {
        let mut d = Diagnostics::new();
        assert_eq!(d.take_err(Ok::<_, Diagnostic>(3)), Some(3));
        assert!(d.is_empty());
        let failed: Result<i32, Diagnostic> = Err(Diagnostic::error("boom", ""));
        assert_eq!(d.take_err(failed), None);
        assert!(d.has_errors());
    }
}
