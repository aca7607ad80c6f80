//! GPU errors that wgpu reports through callbacks rather than return values: uncaptured errors,
//! device loss, and the out-of-memory error scope of each buffer allocation. They are kept here
//! until the next call that can return them ([`super::GpuContext::check`]).
//!
//! Natively an allocation's error scope answers at once. On the web it answers later (a
//! promise), so the allocation looks successful until then; [`ErrorSlots::settled`] waits for
//! every answer, so that a load or a new session can report the out-of-memory error of the
//! buffer that failed, with its size, instead of computing garbage or failing a later call.

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll, Waker};

use crate::error::{Error, Result};

#[derive(Default)]
pub(super) struct ErrorSlots(Mutex<Slots>);

#[derive(Default)]
struct Slots {
    /// The first error reported since the last check.
    first: Option<Error>,
    /// Set once the device is lost; stays set.
    lost: Option<String>,
    /// Allocations whose out-of-memory scope has not answered yet.
    unconfirmed: usize,
    /// Futures of [`ErrorSlots::settled`] waiting for `unconfirmed` to reach 0.
    waiting: Vec<Waker>,
}

impl ErrorSlots {
    fn slots(&self) -> std::sync::MutexGuard<'_, Slots> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Keeps `e` unless an earlier error is still unreported.
    pub fn record(&self, e: Error) {
        self.slots().first.get_or_insert(e);
    }

    /// Marks the device lost (the first reason is kept) and wakes everything waiting.
    pub fn lose(&self, why: String) {
        let mut s = self.slots();
        s.lost.get_or_insert(why);
        s.waiting.drain(..).for_each(Waker::wake);
    }

    pub fn is_lost(&self) -> bool {
        self.slots().lost.is_some()
    }

    /// [`Error::DeviceLost`] once the device is lost; otherwise the first error reported since
    /// the last check, which is then cleared.
    pub fn check(&self) -> Result<()> {
        let mut s = self.slots();
        if let Some(why) = &s.lost {
            return Err(Error::DeviceLost(why.clone()));
        }
        s.first.take().map_or(Ok(()), Err)
    }

    /// An allocation whose out-of-memory answer will come later.
    pub fn allocation_started(&self) {
        self.slots().unconfirmed += 1;
    }

    /// The answer to an allocation counted by [`Self::allocation_started`]: `Some` when it failed.
    pub fn allocation_confirmed(&self, failure: Option<Error>) {
        let mut s = self.slots();
        if let Some(e) = failure {
            s.first.get_or_insert(e);
        }
        s.unconfirmed = s.unconfirmed.saturating_sub(1);
        if s.unconfirmed == 0 {
            s.waiting.drain(..).for_each(Waker::wake);
        }
    }

    /// Resolves when every allocation started so far has been answered (or the device is lost).
    pub fn settled(&self) -> Settled<'_> {
        Settled(self)
    }
}

pub(super) struct Settled<'a>(&'a ErrorSlots);

impl Future for Settled<'_> {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut s = self.0.slots();
        if s.unconfirmed == 0 || s.lost.is_some() {
            return Poll::Ready(());
        }
        // Once per task (a task polled again must not pile up wakers).
        if !s.waiting.iter().any(|w| w.will_wake(cx.waker())) {
            s.waiting.push(cx.waker().clone());
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn poll_once(f: &mut Settled<'_>) -> Poll<()> {
        Pin::new(f).poll(&mut Context::from_waker(Waker::noop()))
    }

    #[test]
    fn settles_after_every_answer_and_keeps_the_first_failure() {
        let slots = ErrorSlots::default();
        assert_eq!(poll_once(&mut slots.settled()), Poll::Ready(()));
        slots.allocation_started();
        slots.allocation_started();
        let mut settled = slots.settled();
        assert_eq!(poll_once(&mut settled), Poll::Pending);
        let oom = |what: &str| Error::OutOfMemory { what: what.into(), bytes: 1 << 30 };
        slots.allocation_confirmed(Some(oom("k_cache.0")));
        assert_eq!(poll_once(&mut settled), Poll::Pending);
        slots.allocation_confirmed(Some(oom("k_cache.1")));
        assert_eq!(poll_once(&mut settled), Poll::Ready(()));
        assert_eq!(slots.check(), Err(oom("k_cache.0")));
        assert_eq!(slots.check(), Ok(()), "reported once");
    }

    #[test]
    fn a_lost_device_ends_the_wait_and_stays_lost() {
        let slots = ErrorSlots::default();
        slots.allocation_started();
        let mut settled = slots.settled();
        assert_eq!(poll_once(&mut settled), Poll::Pending);
        slots.lose("destroyed".into());
        assert_eq!(poll_once(&mut settled), Poll::Ready(()));
        for _ in 0..2 {
            assert_eq!(slots.check().unwrap_err().code(), "device_lost");
        }
        assert!(slots.is_lost());
    }
}
