//! Pacing of our own Discord REST requests: per-channel and global sliding windows, plus the
//! pauses Discord asks for through rate-limit headers and 429s.
//!
//! The window bookkeeping ([`PaceState`]) is pure: it takes `now` and never sleeps, so it is
//! tested with made-up instants. [`Pacer`] is the async shell that sleeps until a slot is free.
//!
//! A slot is counted from when its request *finished* (the [`Permit`] is dropped), not from
//! when it was started: Discord stamps the request somewhere in between, so counting from the
//! end is the only choice that can never undercount, whatever the latency.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

/// How many requests the pacer lets through; `Default` is Discord's documented/observed limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaceLimits {
    /// Message creates allowed per channel within `channel_window` (Discord: about 5 per 5 s).
    pub per_channel: usize,
    pub channel_window: Duration,
    /// Requests allowed overall within `global_window` (Discord: 50 per second per bot).
    pub global: usize,
    pub global_window: Duration,
}

impl Default for PaceLimits {
    fn default() -> Self {
        Self {
            per_channel: 5,
            channel_window: Duration::from_secs(5),
            global: 50,
            global_window: Duration::from_secs(1),
        }
    }
}

/// Why a slot cannot be had yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// Try again at this instant (a window entry expires or a pause ends).
    Until(Instant),
    /// The window is full of requests still in flight: try again when one finishes.
    ForRelease,
}

/// One request counted in a window: in flight (`finished: None`) or finished at an instant.
#[derive(Debug, Clone, Copy)]
struct Entry {
    slot: u64,
    finished: Option<Instant>,
}

/// A sliding window of requests.
#[derive(Debug, Default)]
struct Window {
    entries: Vec<Entry>,
}

impl Window {
    /// Forgets finished entries older than `length`.
    fn prune(&mut self, length: Duration, now: Instant) {
        self.entries
            .retain(|e| e.finished.is_none_or(|at| now.duration_since(at) < length));
    }

    /// `None` when another request fits now, else how to wait for room.
    fn wait(&self, limit: usize, length: Duration) -> Option<Wait> {
        if self.entries.len() < limit {
            return None;
        }
        // Room appears when the oldest finished entry leaves the window; if every entry is
        // still in flight, only a release can make room.
        Some(
            self.entries
                .iter()
                .filter_map(|e| e.finished)
                .min()
                .map_or(Wait::ForRelease, |at| Wait::Until(at + length)),
        )
    }

    fn finish(&mut self, slot: u64, now: Instant) {
        if let Some(entry) = self.entries.iter_mut().find(|e| e.slot == slot) {
            entry.finished = Some(now);
        }
    }
}

/// The pacer's bookkeeping, pure over the `now` it is given.
#[derive(Debug)]
pub struct PaceState {
    limits: PaceLimits,
    next_slot: u64,
    global: Window,
    channels: HashMap<u64, Window>,
    global_pause: Option<Instant>,
    channel_pauses: HashMap<u64, Instant>,
}

/// The later of two optional instants.
fn later(a: Option<Instant>, b: Instant) -> Instant {
    a.map_or(b, |a| a.max(b))
}

/// Combines two reasons to wait. Two instants: the later one binds. An instant and a release:
/// recheck at the instant (the caller also wakes on any release and rechecks everything).
fn combine(a: Option<Wait>, b: Option<Wait>) -> Option<Wait> {
    match (a, b) {
        (None, w) | (w, None) => w,
        (Some(Wait::Until(x)), Some(Wait::Until(y))) => Some(Wait::Until(x.max(y))),
        (Some(Wait::ForRelease), Some(other)) | (Some(other), Some(Wait::ForRelease)) => {
            Some(other)
        }
    }
}

impl PaceState {
    pub fn new(limits: PaceLimits) -> Self {
        Self {
            limits,
            next_slot: 0,
            global: Window::default(),
            channels: HashMap::new(),
            global_pause: None,
            channel_pauses: HashMap::new(),
        }
    }

    /// Reserves a slot for a request (a message create in `channel` when given, else any other
    /// request, which counts only against the global window), or says how long to wait.
    pub fn try_reserve(&mut self, channel: Option<u64>, now: Instant) -> Result<u64, Wait> {
        self.forget_idle(now);
        let mut wait = None;
        if let Some(until) = self.global_pause.filter(|until| *until > now) {
            wait = Some(Wait::Until(until));
        }
        self.global.prune(self.limits.global_window, now);
        wait = combine(
            wait,
            self.global
                .wait(self.limits.global, self.limits.global_window),
        );
        if let Some(channel) = channel {
            if let Some(until) = self
                .channel_pauses
                .get(&channel)
                .copied()
                .filter(|until| *until > now)
            {
                wait = combine(wait, Some(Wait::Until(until)));
            }
            let window = self.channels.entry(channel).or_default();
            window.prune(self.limits.channel_window, now);
            wait = combine(
                wait,
                window.wait(self.limits.per_channel, self.limits.channel_window),
            );
        }
        if let Some(wait) = wait {
            return Err(wait);
        }
        let slot = self.next_slot;
        self.next_slot += 1;
        let entry = Entry {
            slot,
            finished: None,
        };
        self.global.entries.push(entry);
        if let Some(channel) = channel {
            self.channels
                .entry(channel)
                .or_default()
                .entries
                .push(entry);
        }
        Ok(slot)
    }

    /// Marks the request of `slot` finished at `now`; its window entries expire from there.
    pub fn release(&mut self, channel: Option<u64>, slot: u64, now: Instant) {
        self.global.finish(slot, now);
        if let Some(window) = channel.and_then(|c| self.channels.get_mut(&c)) {
            window.finish(slot, now);
        }
    }

    /// Stops message creates in `channel` until `now + duration` (a channel 429, or the bucket
    /// headers saying it is used up).
    pub fn pause_channel(&mut self, channel: u64, duration: Duration, now: Instant) {
        let until = now + duration;
        let entry = self.channel_pauses.entry(channel).or_insert(until);
        *entry = (*entry).max(until);
    }

    /// Stops every request until `now + duration` (a global 429).
    pub fn pause_all(&mut self, duration: Duration, now: Instant) {
        self.global_pause = Some(later(self.global_pause, now + duration));
    }

    /// Learns from a message create's `X-RateLimit-Remaining` / `-Reset-After` headers: when
    /// Discord says the channel's bucket is used up, no create goes there before it resets,
    /// whatever our own window thinks (Discord's buckets are not exactly our window).
    pub fn observe_bucket(
        &mut self,
        channel: u64,
        remaining: u64,
        reset_after: Duration,
        now: Instant,
    ) {
        if remaining == 0 {
            self.pause_channel(channel, reset_after, now);
        }
    }

    /// Drops the state of channels with nothing in their window and no pause, so the map does
    /// not grow with every channel ever posted to.
    fn forget_idle(&mut self, now: Instant) {
        let length = self.limits.channel_window;
        self.channel_pauses.retain(|_, until| *until > now);
        let pauses = &self.channel_pauses;
        self.channels.retain(|channel, window| {
            window.prune(length, now);
            !window.entries.is_empty() || pauses.contains_key(channel)
        });
        if self.global_pause.is_some_and(|until| until <= now) {
            self.global_pause = None;
        }
    }
}

struct Shared {
    state: Mutex<PaceState>,
    released: Notify,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, PaceState> {
        // The state is plain bookkeeping that stays consistent between calls, so a panic
        // elsewhere while holding the lock must not stop all delivery.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Paces Discord requests across tasks; clones share one state. Take a [`Permit`] with
/// [`Pacer::acquire`] (message creates) or [`Pacer::acquire_global`] (anything else) before each
/// request and drop it when the response has arrived.
#[derive(Clone)]
pub struct Pacer {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Pacer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pacer")
            .field("limits", &self.shared.lock().limits)
            .finish_non_exhaustive()
    }
}

impl Default for Pacer {
    fn default() -> Self {
        Self::new(PaceLimits::default())
    }
}

/// A reserved slot; dropping it marks the request finished.
#[must_use = "the slot is released when the permit is dropped: hold it until the response arrives"]
pub struct Permit {
    shared: Arc<Shared>,
    channel: Option<u64>,
    slot: u64,
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.shared
            .lock()
            .release(self.channel, self.slot, Instant::now());
        self.shared.released.notify_waiters();
    }
}

impl Pacer {
    pub fn new(limits: PaceLimits) -> Self {
        Self {
            shared: Arc::new(Shared {
                state: Mutex::new(PaceState::new(limits)),
                released: Notify::new(),
            }),
        }
    }

    /// Waits for a message-create slot in `channel_id` (and a global one).
    pub async fn acquire(&self, channel_id: u64) -> Permit {
        self.reserve(Some(channel_id)).await
    }

    /// Waits for a global slot, for requests outside the per-channel message bucket.
    pub async fn acquire_global(&self) -> Permit {
        self.reserve(None).await
    }

    async fn reserve(&self, channel: Option<u64>) -> Permit {
        loop {
            // Registered before looking at the state, so a release in between is not missed.
            let released = self.shared.released.notified();
            tokio::pin!(released);
            released.as_mut().enable();
            let attempt = self.shared.lock().try_reserve(channel, Instant::now());
            match attempt {
                Ok(slot) => {
                    return Permit {
                        shared: Arc::clone(&self.shared),
                        channel,
                        slot,
                    }
                }
                Err(Wait::Until(at)) => {
                    tokio::select! {
                        () = tokio::time::sleep_until(at.into()) => {}
                        () = &mut released => {}
                    }
                }
                Err(Wait::ForRelease) => released.await,
            }
        }
    }

    /// When a message create in `channel_id` could go out without waiting for that channel's
    /// window or pause: `None` means now (the overall limit is not considered).
    pub fn channel_ready_at(&self, channel_id: u64) -> Option<Instant> {
        let now = Instant::now();
        let mut state = self.shared.lock();
        let limits = state.limits;
        let pause = state
            .channel_pauses
            .get(&channel_id)
            .copied()
            .filter(|until| *until > now);
        let window = state.channels.get_mut(&channel_id).and_then(|w| {
            w.prune(limits.channel_window, now);
            match w.wait(limits.per_channel, limits.channel_window) {
                Some(Wait::Until(at)) => Some(at),
                // Every slot is in flight: ask again shortly.
                Some(Wait::ForRelease) => Some(now + Duration::from_millis(50)),
                None => None,
            }
        });
        match (pause, window) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }

    /// Stops message creates in `channel_id` for `duration`.
    pub fn pause_channel(&self, channel_id: u64, duration: Duration) {
        self.shared
            .lock()
            .pause_channel(channel_id, duration, Instant::now());
    }

    /// Stops every request for `duration`.
    pub fn pause_all(&self, duration: Duration) {
        self.shared.lock().pause_all(duration, Instant::now());
    }

    /// Learns from a message create's bucket headers (see [`PaceState::observe_bucket`]).
    pub fn observe_bucket(&self, channel_id: u64, remaining: u64, reset_after: Duration) {
        self.shared
            .lock()
            .observe_bucket(channel_id, remaining, reset_after, Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: Duration = Duration::from_secs(1);

    fn limits() -> PaceLimits {
        PaceLimits {
            per_channel: 5,
            channel_window: 5 * SEC,
            global: 8,
            global_window: SEC,
        }
    }

    /// Reserves and immediately finishes one create in `channel` at `now`.
    fn post(state: &mut PaceState, channel: u64, now: Instant) -> Result<u64, Wait> {
        let slot = state.try_reserve(Some(channel), now)?;
        state.release(Some(channel), slot, now);
        Ok(slot)
    }

    #[test]
    fn sixth_create_in_a_channel_waits_until_the_first_leaves_the_window() {
        let mut state = PaceState::new(PaceLimits {
            global: 100,
            ..limits()
        });
        let t0 = Instant::now();
        for i in 0..5 {
            post(&mut state, 1, t0 + i * Duration::from_millis(10)).unwrap();
        }
        let later = t0 + SEC;
        assert_eq!(post(&mut state, 1, later), Err(Wait::Until(t0 + 5 * SEC)));
        assert!(post(&mut state, 1, t0 + 5 * SEC).is_ok());
    }

    #[test]
    fn other_channels_are_not_held_up_by_a_full_one() {
        let mut state = PaceState::new(limits());
        let t0 = Instant::now();
        for _ in 0..5 {
            post(&mut state, 1, t0).unwrap();
        }
        assert!(post(&mut state, 2, t0).is_ok());
    }

    #[test]
    fn window_counts_from_when_the_request_finished() {
        let mut state = PaceState::new(limits());
        let t0 = Instant::now();
        let slots: Vec<u64> = (0..5)
            .map(|_| state.try_reserve(Some(1), t0).unwrap())
            .collect();
        // All five in flight: only a release can make room, however much time passes.
        assert_eq!(
            state.try_reserve(Some(1), t0 + 60 * SEC),
            Err(Wait::ForRelease)
        );
        let finished = t0 + 2 * SEC;
        for slot in slots {
            state.release(Some(1), slot, finished);
        }
        assert_eq!(
            state.try_reserve(Some(1), finished),
            Err(Wait::Until(finished + 5 * SEC))
        );
    }

    #[test]
    fn global_limit_spans_channels_and_other_requests() {
        let mut state = PaceState::new(limits());
        let t0 = Instant::now();
        for channel in 0..4 {
            post(&mut state, channel, t0).unwrap();
        }
        for _ in 0..4 {
            let slot = state.try_reserve(None, t0).unwrap();
            state.release(None, slot, t0);
        }
        assert_eq!(state.try_reserve(None, t0), Err(Wait::Until(t0 + SEC)));
        assert_eq!(post(&mut state, 9, t0), Err(Wait::Until(t0 + SEC)));
        assert!(post(&mut state, 9, t0 + SEC).is_ok());
    }

    #[test]
    fn channel_pause_holds_only_that_channel() {
        let mut state = PaceState::new(limits());
        let t0 = Instant::now();
        state.pause_channel(1, 2 * SEC, t0);
        assert_eq!(post(&mut state, 1, t0), Err(Wait::Until(t0 + 2 * SEC)));
        assert!(post(&mut state, 2, t0).is_ok());
        assert!(state.try_reserve(None, t0).is_ok());
        assert!(post(&mut state, 1, t0 + 2 * SEC).is_ok());
    }

    #[test]
    fn global_pause_holds_everything() {
        let mut state = PaceState::new(limits());
        let t0 = Instant::now();
        state.pause_all(3 * SEC, t0);
        assert_eq!(post(&mut state, 1, t0), Err(Wait::Until(t0 + 3 * SEC)));
        assert_eq!(state.try_reserve(None, t0), Err(Wait::Until(t0 + 3 * SEC)));
        assert!(post(&mut state, 1, t0 + 3 * SEC).is_ok());
    }

    #[test]
    fn shorter_pause_does_not_cut_a_longer_one() {
        let mut state = PaceState::new(limits());
        let t0 = Instant::now();
        state.pause_channel(1, 4 * SEC, t0);
        state.pause_channel(1, SEC, t0);
        assert_eq!(
            post(&mut state, 1, t0 + SEC),
            Err(Wait::Until(t0 + 4 * SEC))
        );
    }

    #[test]
    fn used_up_bucket_header_pauses_the_channel_until_reset() {
        let mut state = PaceState::new(limits());
        let t0 = Instant::now();
        post(&mut state, 1, t0).unwrap();
        state.observe_bucket(1, 0, 3 * SEC, t0);
        assert_eq!(post(&mut state, 1, t0), Err(Wait::Until(t0 + 3 * SEC)));
    }

    #[test]
    fn bucket_header_with_requests_left_changes_nothing() {
        let mut state = PaceState::new(limits());
        let t0 = Instant::now();
        state.observe_bucket(1, 4, 3 * SEC, t0);
        assert!(post(&mut state, 1, t0).is_ok());
    }

    #[test]
    fn full_window_and_pause_wait_for_the_later_of_the_two() {
        let mut state = PaceState::new(limits());
        let t0 = Instant::now();
        for _ in 0..5 {
            post(&mut state, 1, t0).unwrap();
        }
        state.pause_channel(1, 7 * SEC, t0);
        assert_eq!(post(&mut state, 1, t0), Err(Wait::Until(t0 + 7 * SEC)));
    }

    #[test]
    fn idle_channels_are_forgotten() {
        let mut state = PaceState::new(limits());
        let t0 = Instant::now();
        for channel in 0..3 {
            post(&mut state, channel, t0).unwrap();
        }
        let _ = state.try_reserve(None, t0 + 10 * SEC);
        assert!(state.channels.is_empty());
    }

    #[tokio::test]
    async fn acquire_waits_for_a_release_when_the_window_is_all_in_flight() {
        let pacer = Pacer::new(PaceLimits {
            per_channel: 1,
            channel_window: Duration::from_millis(1),
            ..limits()
        });
        let first = pacer.acquire(1).await;
        let waiter = tokio::spawn({
            let pacer = pacer.clone();
            async move {
                let _second = pacer.acquire(1).await;
            }
        });
        tokio::task::yield_now().await;
        assert!(
            !waiter.is_finished(),
            "a second create went out while the first was in flight"
        );
        drop(first);
        waiter.await.unwrap();
    }
}
