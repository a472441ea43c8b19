//! Fault injection for Graph routes: throttling (429), unavailability (503), added latency and
//! replication lag.
//!
//! One seeded RNG draws one number per Graph request (inner `$batch` requests included), so a
//! given seed and request sequence always yields the same faults. The admin routes and the
//! token endpoint are never faulted.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::AppState;
use crate::config::FaultSpec;
use crate::error::ApiError;
use crate::util::now_ms;

/// `Retry-After` seconds sent with injected 429 and 503 responses.
pub const RETRY_AFTER_SECS: u64 = 1;

/// Shared fault settings and RNG (cheap clone).
#[derive(Clone)]
pub struct Faults {
    /// std Mutex: locked for a few instructions per request, never across an `.await`.
    inner: Arc<Mutex<Inner>>,
}

struct Inner {
    spec: FaultSpec,
    rng: StdRng,
}

/// What the fault layer decided for one request.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Outcome {
    /// Serve normally.
    Pass,
    /// Answer 429.
    Throttle,
    /// Answer 503.
    Unavailable,
}

impl Faults {
    /// Start with a spec (the RNG is seeded from `spec.seed`).
    pub fn new(spec: FaultSpec) -> Faults {
        let rng = StdRng::seed_from_u64(spec.seed);
        Faults {
            inner: Arc::new(Mutex::new(Inner { spec, rng })),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Current settings.
    pub fn spec(&self) -> FaultSpec {
        self.lock().spec.clone()
    }

    /// Replace the settings and reseed the RNG.
    pub fn set(&self, spec: FaultSpec) {
        let mut g = self.lock();
        g.rng = StdRng::seed_from_u64(spec.seed);
        g.spec = spec;
    }

    /// Draw the outcome and latency for one request.
    pub fn draw(&self) -> (Outcome, Duration) {
        let mut g = self.lock();
        let x: f64 = g.rng.random();
        let outcome = if x < g.spec.throttle {
            Outcome::Throttle
        } else if x < g.spec.throttle + g.spec.unavailable {
            Outcome::Unavailable
        } else {
            Outcome::Pass
        };
        (outcome, g.spec.latency)
    }

    /// Reads only see objects created at or before this time (ms): `now - lag`.
    pub fn visible_before(&self) -> i64 {
        let lag = self.lock().spec.lag;
        if lag.is_zero() {
            i64::MAX
        } else {
            now_ms() - lag.as_millis() as i64
        }
    }
}

/// Middleware on the Graph routers: latency, then maybe a 429/503 instead of the handler.
///
/// A request inside a `$batch` may be throttled on its own, but adds no latency: the latency
/// stands for one round trip to Graph, and a batch is one (Graph runs the independent requests
/// of a batch in parallel; UNCONFIRMED how much longer a full batch takes than one request, so
/// none is added).
pub async fn fault_layer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let (outcome, latency) = state.faults.draw();
    let inner = req
        .extensions()
        .get::<crate::routes::BatchInner>()
        .is_some();
    if !latency.is_zero() && !inner {
        tokio::time::sleep(latency).await;
    }
    let (mut resp, fault) = match outcome {
        Outcome::Pass => return next.run(req).await,
        Outcome::Throttle => (
            ApiError::Throttled {
                retry_after: RETRY_AFTER_SECS,
            }
            .into_response(),
            "throttle",
        ),
        Outcome::Unavailable => (
            ApiError::Unavailable {
                retry_after: RETRY_AFTER_SECS,
            }
            .into_response(),
            "unavailable",
        ),
    };
    resp.extensions_mut().insert(InjectedFault(fault));
    resp
}

/// Marks a response the fault layer made instead of Graph's, for the
/// request log.
#[derive(Clone, Copy, Debug)]
pub struct InjectedFault(pub &'static str);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_gives_same_fault_sequence() {
        let spec = FaultSpec {
            throttle: 0.3,
            unavailable: 0.2,
            seed: 7,
            ..Default::default()
        };
        let a = Faults::new(spec.clone());
        let b = Faults::new(spec);
        let sa: Vec<_> = (0..200).map(|_| a.draw().0).collect();
        let sb: Vec<_> = (0..200).map(|_| b.draw().0).collect();
        assert_eq!(sa, sb);
        assert!(sa.contains(&Outcome::Throttle));
        assert!(sa.contains(&Outcome::Unavailable));
        assert!(sa.contains(&Outcome::Pass));
    }

    #[test]
    fn zero_probabilities_never_fault() {
        let f = Faults::new(FaultSpec::default());
        assert!((0..1000).all(|_| f.draw().0 == Outcome::Pass));
        assert_eq!(f.visible_before(), i64::MAX);
    }
}
