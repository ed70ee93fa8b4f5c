//! The deliverer's side of the store port: pending alerts and digests, what became of each
//! delivery, suspended targets, and where a refused DM may fall back to.
//!
//! Contract (what any backend must do):
//! - [`Store::pending_alerts`] / [`Store::pending_digests`] return undelivered, undropped
//!   rows in id order (a target's alerts keep their order).
//! - [`Store::record_sent`] marks the delivery (and the later reports merged into it) delivered,
//!   keeps the message ids it became, and clears the target's suspension — all at once.
//! - Nothing is ever deleted by delivery: a failure is counted, a drop keeps its reason.

use chrono::{DateTime, Utc};

use super::{digest as held, discord as q, Result, Store};
use crate::core::alert::Alert;
use crate::core::digest::Digest;
use crate::core::model::{OutboxId, Target};

/// One delivery: an outbox alert, or a member's digest (each has its own table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryId {
    Alert(OutboxId),
    Digest(i64),
}

/// A later report of a story and the first alert it adds to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoryUpdate {
    /// The first alert (`None`: gone).
    pub first: Option<Alert>,
    pub first_delivered: bool,
    /// The Discord messages the first alert became.
    pub message_ids: Vec<u64>,
    /// Every report attached to the first alert so far (delivered ones and this one).
    pub reports: Vec<Alert>,
}

/// A suspended target: why, since when, and when it was last tried.
pub use super::BrokenTarget;

impl Store {
    /// Up to `limit` undelivered alerts with an id above `after`, oldest first.
    pub async fn pending_alerts(&self, after: OutboxId, limit: usize) -> Result<Vec<Alert>> {
        self.call(move |c| super::pending_alerts_after(c, after.0, limit))
            .await
    }

    /// Later reports of `original`'s story still pending (to send with it, not after it).
    pub async fn pending_reports_of(&self, original: OutboxId) -> Result<Vec<Alert>> {
        self.call(move |c| super::pending_reports_of(c, original.0))
            .await
    }

    /// What a later report `current` of the story of `original` updates.
    pub async fn story_update(&self, original: OutboxId, current: OutboxId) -> Result<StoryUpdate> {
        self.call(move |c| {
            Ok(StoryUpdate {
                first: super::alert_by_id(c, original.0)?,
                first_delivered: super::is_delivered(c, original.0)?,
                message_ids: super::message_ids(c, original.0)?,
                reports: super::also_covered(c, original.0, current.0)?,
            })
        })
        .await
    }

    /// Records a delivery that went out: it and `merged` (reports sent inside it) are
    /// delivered, `message_ids` kept, the target no longer suspended.
    pub async fn record_sent(
        &self,
        id: DeliveryId,
        target: String,
        message_ids: Vec<u64>,
        merged: Vec<OutboxId>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.call(move |c| {
            let tx = c.transaction()?;
            match id {
                DeliveryId::Alert(o) => {
                    super::mark_delivered(&tx, o.0, now)?;
                    if !message_ids.is_empty() {
                        super::set_message_ids(&tx, o.0, &message_ids)?;
                    }
                }
                DeliveryId::Digest(d) => held::mark_digest_delivered(&tx, d, now)?,
            }
            for report in merged {
                super::mark_delivered(&tx, report.0, now)?;
            }
            super::mark_target_ok(&tx, &target)?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    /// Counts a failed attempt; the delivery stays pending.
    pub async fn record_failed_attempt(&self, id: DeliveryId, reason: String) -> Result<()> {
        self.call(move |c| match id {
            DeliveryId::Alert(o) => super::mark_attempt_failed(c, o.0, &reason),
            DeliveryId::Digest(d) => held::mark_digest_failed(c, d, &reason),
        })
        .await
    }

    /// Gives up on a delivery, keeping it and the reason (never silently).
    pub async fn record_dropped(
        &self,
        id: DeliveryId,
        reason: String,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.call(move |c| match id {
            DeliveryId::Alert(o) => super::mark_dropped(c, o.0, &reason, now),
            DeliveryId::Digest(d) => held::mark_digest_dropped(c, d, &reason, now),
        })
        .await
    }

    /// Counts a failed attempt and suspends its target (its deliveries stay pending).
    /// Returns whether the target was working until now (then its admins should hear of it).
    pub async fn suspend_target(
        &self,
        id: DeliveryId,
        target: String,
        reason: String,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        self.call(move |c| {
            let tx = c.transaction()?;
            let was_broken = super::broken_targets(&tx)?.iter().any(|b| b.target == target);
            match id {
                DeliveryId::Alert(o) => super::mark_attempt_failed(&tx, o.0, &reason)?,
                DeliveryId::Digest(d) => held::mark_digest_failed(&tx, d, &reason)?,
            }
            super::mark_target_broken(&tx, &target, &reason, now)?;
            tx.commit()?;
            Ok(!was_broken)
        })
        .await
    }

    /// Every suspended target.
    pub async fn suspended_targets(&self) -> Result<Vec<BrokenTarget>> {
        self.call(|c| super::broken_targets(c)).await
    }

    /// Where a member's refused DM may go instead: the alert channel of a server that has
    /// subscriptions delivering to `dm_target`.
    pub async fn fallback_channel(&self, dm_target: String) -> Result<Option<Target>> {
        Ok(self
            .alert_channels_of(dm_target)
            .await?
            .into_iter()
            .find(|t| matches!(t, Target::Channel(_))))
    }

    /// The alert channels of the servers whose subscriptions deliver to `target` (where
    /// admins hear that it stopped working).
    pub async fn alert_channels_of(&self, target: String) -> Result<Vec<Target>> {
        self.call(move |c| {
            let mut channels = Vec::new();
            for guild in q::guilds_of_target(c, &target)? {
                if let Some(channel) = q::alert_channel(c, &guild)? {
                    channels.push(Target::parse(&channel));
                }
            }
            Ok(channels)
        })
        .await
    }

    /// Forms the digests due at `now` (held items grouped per member and target).
    pub async fn form_due_digests(&self, now: DateTime<Utc>) -> Result<usize> {
        self.call(move |c| held::form_due_digests(c, now)).await
    }

    /// Up to `limit` formed, undelivered digests with an id above `after`, oldest first.
    pub async fn pending_digests(&self, after: i64, limit: usize) -> Result<Vec<Digest>> {
        self.call(move |c| held::pending_digests_after(c, after, limit))
            .await
    }

    /// When the earliest held item falls due.
    pub async fn next_digest_due(&self) -> Result<Option<DateTime<Utc>>> {
        self.call(|c| held::next_digest_due(c)).await
    }
}
