//! Stopping an apply from outside (the CLI turns Ctrl-C and SIGTERM into
//! requests): the first request stops it after the statement or backfill
//! batch under way, recording where; a second one also cancels that
//! statement on the server.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use tokio::sync::Notify;

/// A shared stop switch; clones see the same requests.
#[derive(Debug, Clone, Default)]
pub struct Interrupt(Arc<Inner>);

#[derive(Debug, Default)]
struct Inner {
    count: AtomicU32,
    notify: Notify,
}

impl Interrupt {
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks to stop; returns how many times it has been asked.
    pub fn request(&self) -> u32 {
        let n = self.0.count.fetch_add(1, Ordering::SeqCst) + 1;
        self.0.notify.notify_waiters();
        n
    }

    /// Stop after the statement under way.
    pub fn requested(&self) -> bool {
        self.0.count.load(Ordering::SeqCst) >= 1
    }

    /// Cancel the statement under way, too.
    pub fn forced(&self) -> bool {
        self.0.count.load(Ordering::SeqCst) >= 2
    }

    async fn wait_for(&self, n: u32) {
        loop {
            let notified = self.0.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.0.count.load(Ordering::SeqCst) >= n {
                return;
            }
            notified.await;
        }
    }

    /// Resolves once a stop is requested.
    pub async fn wait_requested(&self) {
        self.wait_for(1).await
    }

    /// Resolves once a second stop is requested.
    pub async fn wait_forced(&self) {
        self.wait_for(2).await
    }

    /// Sleeps for `d`, or less if a stop is requested; says whether it was.
    pub async fn sleep(&self, d: std::time::Duration) -> bool {
        tokio::select! {
            _ = tokio::time::sleep(d) => self.requested(),
            _ = self.wait_requested() => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn requests_wake_sleepers() {
        let i = Interrupt::new();
        let j = i.clone();
        let t = tokio::spawn(async move { j.sleep(Duration::from_secs(30)).await });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!i.requested());
        assert_eq!(i.request(), 1);
        assert!(t.await.expect("task"), "the sleep was cut short");
        assert!(i.requested() && !i.forced());
        let k = i.clone();
        let f = tokio::spawn(async move { k.wait_forced().await });
        i.request();
        f.await.expect("forced");
        assert!(i.forced());
    }
}
