//! Waiting for a condition. Everything that waits in the tests and the
//! bench's setup comes through here: look, and if the condition does not
//! hold yet, look again a moment later, until a deadline that only bounds a
//! failure. The pause between looks is the only sleep of the harness.

use anyhow::{bail, Result};
use std::time::{Duration, Instant};

/// How long to pause between two looks.
pub const POLL: Duration = Duration::from_millis(20);

/// Call `check` until it returns `Some`, blocking this thread; fail naming
/// `what` after `within`. An `Err` from `check` ends the wait at once.
pub fn until<T>(within: Duration, what: &str, mut check: impl FnMut() -> Result<Option<T>>) -> Result<T> {
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = check()? {
            return Ok(v);
        }
        if Instant::now() >= deadline {
            bail!("timed out after {within:?} waiting for {what}");
        }
        std::thread::sleep(POLL);
    }
}

/// [`until`] for async code: the pause does not block the runtime.
pub async fn until_async<T>(within: Duration, what: &str, mut check: impl FnMut() -> Result<Option<T>>) -> Result<T> {
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = check()? {
            return Ok(v);
        }
        if Instant::now() >= deadline {
            bail!("timed out after {within:?} waiting for {what}");
        }
        tokio::time::sleep(POLL).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn returns_the_first_value_that_holds() {
        let mut n = 0;
        let v = until(Duration::from_secs(5), "three looks", || {
            n += 1;
            Ok((n == 3).then_some(n))
        })
        .unwrap();
        assert_eq!(v, 3);
    }

    #[test]
    fn fails_naming_what_it_waited_for() {
        let err = until(Duration::from_millis(50), "the impossible", || Ok(None::<()>)).unwrap_err();
        assert!(err.to_string().contains("the impossible"), "{err}");
    }

    #[test]
    fn an_error_from_the_check_ends_the_wait() {
        let err = until(Duration::from_secs(60), "x", || -> Result<Option<()>> { bail!("process exited") }).unwrap_err();
        assert!(err.to_string().contains("process exited"));
    }

    #[tokio::test]
    async fn the_async_wait_works_the_same() {
        let mut n = 0;
        let v = until_async(Duration::from_secs(5), "two looks", || {
            n += 1;
            Ok((n == 2).then_some("ok"))
        })
        .await
        .unwrap();
        assert_eq!(v, "ok");
    }
}
