//! Retries an idempotent HTTP call with capped exponential backoff and full jitter.

use std::thread::sleep;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct Policy {
    pub max_attempts: u32,
    pub base: Duration,
    pub cap: Duration,
    pub deadline: Option<Duration>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy { max_attempts: 5, base: Duration::from_millis(100), cap: Duration::from_secs(5), deadline: None }
    }
}

#[derive(Debug)]
pub enum CallError {
    Transient(String),
    Permanent(String),
}

/// A tiny xorshift generator, so the crate needs no dependency for jitter.
pub struct Jitter(u64);

impl Jitter {
    pub fn new(seed: u64) -> Self {
        Jitter(seed | 1)
    }

    fn next_f64(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The delay before attempt `n` (1-based): uniform in [0, min(cap, base * 2^n)).
pub fn delay_for(policy: &Policy, attempt: u32, jitter: &mut Jitter) -> Duration {
    let exp = policy.base.as_millis() as u64 * 2u64.pow(attempt);
    let bounded = exp.min(policy.cap.as_millis() as u64);
    Duration::from_millis((bounded as f64 * jitter.next_f64()) as u64)
}

pub fn retry<T, F>(policy: &Policy, jitter: &mut Jitter, mut call: F) -> Result<T, CallError>
where
    F: FnMut(u32) -> Result<T, CallError>,
{
    let started = Instant::now();
    let mut attempt = 0;
    loop {
        attempt += 1;
        match call(attempt) {
            Ok(value) => return Ok(value),
            Err(CallError::Permanent(msg)) => return Err(CallError::Permanent(msg)),
            Err(CallError::Transient(msg)) => {
                if attempt >= policy.max_attempts {
                    return Err(CallError::Transient(format!("gave up after {} attempts: {}", attempt, msg)));
                }
                let delay = delay_for(policy, attempt, jitter);
                if let Some(deadline) = policy.deadline {
                    if started.elapsed() + delay > deadline {
                        return Err(CallError::Transient(format!("deadline reached: {}", msg)));
                    }
                }
                sleep(delay);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stops_at_max_attempts() {
        let policy = Policy { base: Duration::from_millis(1), ..Policy::default() };
        let mut calls = 0;
        let result: Result<(), _> = retry(&policy, &mut Jitter::new(7), |_| {
            calls += 1;
            Err(CallError::Transient("503".into()))
        });
        assert!(result.is_err());
        assert_eq!(calls, 5);
    }

    #[test]
    fn delay_never_exceeds_cap() {
        let policy = Policy::default();
        let mut jitter = Jitter::new(42);
        for attempt in 1..40 {
            assert!(delay_for(&policy, attempt, &mut jitter) <= policy.cap);
        }
    }
}
