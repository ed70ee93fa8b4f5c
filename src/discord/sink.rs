//! The Discord delivery sink: resolves an alert's target to a channel (opening DMs as
//! needed), renders it, posts it through the pacer, and maps what Discord said to a
//! [`Delivery`]. Tells a server's admins when one of its alert channels stops working.

use serde_json::json;

use crate::core::alert::Alert;
use crate::core::digest::Digest;
use crate::delivery::{Delivery, Sink};
use crate::discord::pace::Pacer;
use crate::discord::render::{render_alert, render_digest};
use crate::discord::rest::{send_all, DiscordRest};
use crate::discord::OutgoingMessage;
use crate::store::{self, discord as q, Store};

/// Where an alert goes, from its stored target text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Channel(u64),
    Dm(u64),
}

/// Parses `channel:<id>`, `dm:<user id>`, or a bare channel id (config subscriptions).
pub fn parse_target(text: &str) -> Option<Target> {
    let number = |s: &str| s.trim().parse::<u64>().ok().filter(|n| *n > 0);
    if let Some(id) = text.strip_prefix("channel:") {
        number(id).map(Target::Channel)
    } else if let Some(id) = text.strip_prefix("dm:") {
        number(id).map(Target::Dm)
    } else {
        number(text).map(Target::Channel)
    }
}

pub struct DiscordSink {
    pub rest: DiscordRest,
    pub pacer: Pacer,
    pub store: Store,
}

impl DiscordSink {
    async fn deliver_inner(&self, alert: &Alert) -> Delivery {
        let Some(target) = parse_target(&alert.target) else {
            return Delivery::Rejected {
                reason: format!(
                    "target `{}` is not a Discord channel id; give config subscriptions `channel = \"<channel id>\"`",
                    alert.target
                ),
            };
        };
        let channel = match target {
            Target::Channel(id) => id,
            Target::Dm(user) => match self.rest.dm_channel(user).await {
                Ok(id) => id,
                Err(e) if e.is_transient() || e.is_rate_limited() => {
                    return Delivery::Retry {
                        reason: e.to_string(),
                    }
                }
                Err(e) if e.is_unauthorized() => {
                    return Delivery::Fatal {
                        reason: e.to_string(),
                    }
                }
                Err(e) => {
                    return self
                        .dm_fallback(alert, user, &format!("cannot open a direct message: {e}"))
                        .await
                }
            },
        };
        let messages = render_alert(alert, alert.id);
        match send_all(&self.rest, &self.pacer, channel, &messages).await {
            Ok(ids) => {
                let id = alert.id;
                if let Err(e) = self
                    .store
                    .call(move |c| store::set_message_ids(c, id, &ids))
                    .await
                {
                    tracing::warn!(error = %e, "cannot record the posted message ids");
                }
                Delivery::Delivered
            }
            Err(Delivery::Delivered) => Delivery::Delivered,
            Err(Delivery::Rejected { reason }) => {
                // Discord refused the body (400): never resend it unchanged. One fallback with
                // only the essentials; if that fails too, the alert is dropped with the reason.
                tracing::warn!(outbox_id = alert.id, %reason, "Discord rejected the alert; retrying once in minimal form");
                let minimal = minimal_message(alert, &messages);
                match send_all(&self.rest, &self.pacer, channel, &[minimal]).await {
                    Ok(_) => Delivery::Delivered,
                    Err(Delivery::Rejected { reason: second }) => Delivery::Rejected {
                        reason: format!("{reason}; minimal form also refused: {second}"),
                    },
                    Err(other) => other,
                }
            }
            Err(Delivery::TargetBroken { reason }) if matches!(target, Target::Dm(_)) => {
                // A member with closed DMs: a notice in the server's alert channel, not a loop.
                let Target::Dm(user) = target else {
                    return Delivery::Rejected { reason };
                };
                self.dm_fallback(alert, user, &format!("direct message refused: {reason}"))
                    .await
            }
            Err(other) => other,
        }
    }

    /// When a member's DMs are closed: post the alert in the server's alert channel with a
    /// notice mentioning only that member; without an alert channel, drop it with the reason.
    async fn dm_fallback(&self, alert: &Alert, user: u64, reason: &str) -> Delivery {
        let Some(channel) = self.fallback_channel(&alert.target).await else {
            return Delivery::Rejected {
                reason: format!("{reason}; no server alert channel to fall back to"),
            };
        };
        let mut messages = render_alert(alert, alert.id);
        if let Some(first) = messages.first_mut() {
            first.payload["content"] = json!(format!(
                "<@{user}> I couldn't send you this by direct message (are your DMs closed?), so here it is."
            ));
            first.payload["allowed_mentions"] = json!({"parse": [], "users": [user.to_string()]});
            first.payload["nonce"] = json!(format!("nh{}-dm", alert.id));
        }
        messages.truncate(1);
        match send_all(&self.rest, &self.pacer, channel, &messages).await {
            Ok(_) => Delivery::Delivered,
            Err(
                Delivery::TargetBroken { reason: second } | Delivery::Rejected { reason: second },
            ) => Delivery::Rejected {
                reason: format!("{reason}; the fallback notice failed too: {second}"),
            },
            Err(other) => other,
        }
    }

    /// The alert channel of a server that has subscriptions delivering to `target` (a DM).
    async fn fallback_channel(&self, target: &str) -> Option<u64> {
        let target = target.to_string();
        self.store
            .call(move |c| {
                for guild in q::guilds_of_target(c, &target)? {
                    if let Some(channel) = q::alert_channel(c, &guild)? {
                        return Ok(Some(channel));
                    }
                }
                Ok(None)
            })
            .await
            .ok()
            .flatten()
            .and_then(|t| match parse_target(&t) {
                Some(Target::Channel(id)) => Some(id),
                _ => None,
            })
    }

    /// Delivers a digest: to its channel mentioning the member, or by DM (falling back to
    /// the server's alert channel, mentioning the member, when DMs are closed).
    async fn deliver_digest_inner(&self, digest: &Digest) -> Delivery {
        let Some(target) = parse_target(&digest.target) else {
            return Delivery::Rejected {
                reason: format!(
                    "target `{}` is not a Discord channel id; give config subscriptions `channel = \"<channel id>\"`",
                    digest.target
                ),
            };
        };
        let member = digest.user.parse::<u64>().ok();
        let (channel, mention) = match target {
            Target::Channel(id) => (id, member),
            Target::Dm(user) => match self.rest.dm_channel(user).await {
                Ok(id) => (id, None),
                Err(e) if e.is_transient() || e.is_rate_limited() => {
                    return Delivery::Retry {
                        reason: e.to_string(),
                    }
                }
                Err(e) if e.is_unauthorized() => {
                    return Delivery::Fatal {
                        reason: e.to_string(),
                    }
                }
                Err(e) => {
                    return self
                        .digest_fallback(
                            digest,
                            user,
                            &format!("cannot open a direct message: {e}"),
                        )
                        .await
                }
            },
        };
        let messages = render_digest(digest, mention);
        match send_all(&self.rest, &self.pacer, channel, &messages).await {
            Ok(_) | Err(Delivery::Delivered) => Delivery::Delivered,
            Err(Delivery::TargetBroken { reason }) if matches!(target, Target::Dm(_)) => {
                let Target::Dm(user) = target else {
                    return Delivery::Rejected { reason };
                };
                self.digest_fallback(digest, user, &format!("direct message refused: {reason}"))
                    .await
            }
            Err(other) => other,
        }
    }

    async fn digest_fallback(&self, digest: &Digest, user: u64, reason: &str) -> Delivery {
        let Some(channel) = self.fallback_channel(&digest.target).await else {
            return Delivery::Rejected {
                reason: format!("{reason}; no server alert channel to fall back to"),
            };
        };
        let mut messages = render_digest(digest, Some(user));
        for (n, m) in messages.iter_mut().enumerate() {
            m.payload["nonce"] = json!(format!("nd{}-dm{}", digest.id, n + 1));
        }
        if let Some(first) = messages.first_mut() {
            first.payload["content"] = json!(format!(
                "<@{user}> I couldn't send you this digest by direct message (are your DMs closed?), so here it is."
            ));
        }
        match send_all(&self.rest, &self.pacer, channel, &messages).await {
            Ok(_) => Delivery::Delivered,
            Err(
                Delivery::TargetBroken { reason: second } | Delivery::Rejected { reason: second },
            ) => Delivery::Rejected {
                reason: format!("{reason}; the fallback failed too: {second}"),
            },
            Err(other) => other,
        }
    }

    /// Posts a notice about a newly suspended channel in the server's default alert channel,
    /// when that is a different, working channel.
    async fn tell_admins(&self, broken_target: &str, reason: &str) {
        let target = broken_target.to_string();
        let lookups = self
            .store
            .call(move |c| {
                let mut channels = Vec::new();
                for guild in q::guilds_of_target(c, &target)? {
                    if let Some(channel) = q::alert_channel(c, &guild)? {
                        channels.push(channel);
                    }
                }
                Ok(channels)
            })
            .await
            .unwrap_or_default();
        for notice_target in lookups {
            if notice_target == broken_target {
                continue;
            }
            let Some(Target::Channel(channel)) = parse_target(&notice_target) else {
                continue;
            };
            let shown = match parse_target(broken_target) {
                Some(Target::Channel(id)) => format!("<#{id}>"),
                _ => "a delivery target".to_string(),
            };
            let text = crate::core::summary::truncate_at_boundary(
                &format!("⚠ newshound can't post alerts in {shown}: {reason}. Alerts for it are kept and will be delivered once it is fixed (`/sources list` shows the status)."),
                1900,
            );
            let message = OutgoingMessage {
                payload: json!({"content": text, "allowed_mentions": {"parse": []}}),
            };
            if let Err(d) = send_all(&self.rest, &self.pacer, channel, &[message]).await {
                tracing::warn!(?d, "cannot post the broken-channel notice");
            }
        }
    }
}

/// Title and link only: what is left when Discord refuses the full alert.
fn minimal_message(alert: &Alert, full: &[OutgoingMessage]) -> OutgoingMessage {
    let title = crate::core::limits::fit(&crate::core::limits::escape_markdown(&alert.title), 200);
    let link = alert
        .link
        .as_deref()
        .filter(|l| l.starts_with("https://") || l.starts_with("http://"))
        .map(|l| format!("\n<{}>", crate::core::limits::fit(l, 1500)))
        .unwrap_or_default();
    let mut payload = full
        .first()
        .map_or_else(|| json!({}), |m| m.payload.clone());
    let mentions = payload
        .get("content")
        .and_then(|c| c.as_str())
        .unwrap_or_default()
        .to_string();
    let content = crate::core::limits::fit(
        &format!(
            "{mentions}\n**{title}** — {}{link}",
            crate::core::limits::escape_markdown(&alert.source)
        ),
        2000,
    );
    payload["content"] = json!(content.trim());
    if let Some(map) = payload.as_object_mut() {
        map.remove("embeds");
    }
    payload["nonce"] = json!(format!("nh{}-min", alert.id));
    payload["enforce_nonce"] = json!(true);
    OutgoingMessage { payload }
}

impl DiscordSink {
    /// Edits the first alert's message: its embed gains an "Also covered by" field.
    async fn edit_also_covered(&self, original: &Alert, reports: &[Alert]) -> Delivery {
        let id = original.id;
        let ids = self
            .store
            .call(move |c| store::message_ids(c, id))
            .await
            .unwrap_or_default();
        let Some(&message_id) = ids.first() else {
            // Nothing to edit (delivered before ids were kept): say it as a short message.
            return Delivery::Rejected {
                reason: "the first alert's message id is unknown".into(),
            };
        };
        let channel = match parse_target(&original.target) {
            Some(Target::Channel(id)) => id,
            Some(Target::Dm(user)) => match self.rest.dm_channel(user).await {
                Ok(id) => id,
                Err(e) if e.is_transient() || e.is_rate_limited() => {
                    return Delivery::Retry {
                        reason: e.to_string(),
                    }
                }
                Err(e) => {
                    return Delivery::Rejected {
                        reason: e.to_string(),
                    }
                }
            },
            None => {
                return Delivery::Rejected {
                    reason: format!("target `{}` is not a Discord channel", original.target),
                }
            }
        };
        let Some(mut embed) = render_alert(original, original.id)
            .into_iter()
            .next()
            .and_then(|m| m.payload.get("embeds").and_then(|e| e.get(0)).cloned())
        else {
            return Delivery::Rejected {
                reason: "the first alert has no embed to edit".into(),
            };
        };
        let value = crate::core::limits::fit(
            &also_covered_value(reports),
            crate::core::limits::EMBED_FIELD_VALUE_MAX,
        );
        let field = json!({"name": "Also covered by", "value": value, "inline": false});
        match embed.get_mut("fields").and_then(|f| f.as_array_mut()) {
            Some(fields) => fields.push(field),
            None => embed["fields"] = json!([field]),
        }
        let payload = json!({"embeds": [embed], "allowed_mentions": {"parse": []}});
        let _permit = self.pacer.acquire_global().await;
        match self.rest.edit_message(channel, message_id, &payload).await {
            Ok(()) => Delivery::Delivered,
            Err(e) if e.is_transient() || e.is_rate_limited() => Delivery::Retry {
                reason: e.to_string(),
            },
            Err(e) if e.is_unauthorized() => Delivery::Fatal {
                reason: e.to_string(),
            },
            Err(e) => Delivery::Rejected {
                reason: format!("cannot edit the first alert: {e}"),
            },
        }
    }
}

/// "[Source](link) · Source" with sources escaped and links kept to http(s).
fn also_covered_value(reports: &[Alert]) -> String {
    reports
        .iter()
        .map(|r| {
            let source = crate::core::limits::escape_markdown(&r.source);
            match r
                .link
                .as_deref()
                .filter(|l| l.starts_with("https://") || l.starts_with("http://"))
            {
                Some(link) => format!("[{source}]({link})"),
                None => source,
            }
        })
        .collect::<Vec<_>>()
        .join(" · ")
}

impl Sink for DiscordSink {
    /// A channel whose 5-per-5-s window is full is set aside by the drain, not waited on.
    fn ready_at(&self, target: &str) -> Option<std::time::Instant> {
        match parse_target(target) {
            Some(Target::Channel(id)) => self.pacer.channel_ready_at(id),
            // A DM channel's id is known only once opened; the pacer handles it when sending.
            _ => None,
        }
    }

    async fn deliver_digest(&self, digest: &Digest) -> Delivery {
        self.deliver_digest_inner(digest).await
    }

    async fn also_covered(&self, original: &Alert, reports: &[Alert]) -> Delivery {
        self.edit_also_covered(original, reports).await
    }

    async fn deliver(&self, alert: &Alert) -> Delivery {
        let outcome = self.deliver_inner(alert).await;
        if let Delivery::TargetBroken { reason } = &outcome {
            let target = alert.target.clone();
            let already = self
                .store
                .call(move |c| {
                    Ok(store::broken_targets(c)?
                        .into_iter()
                        .any(|b| b.target == target))
                })
                .await
                .unwrap_or(true);
            if !already {
                self.tell_admins(&alert.target, reason).await;
            }
        }
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse() {
        assert_eq!(parse_target("channel:42"), Some(Target::Channel(42)));
        assert_eq!(parse_target("dm:7"), Some(Target::Dm(7)));
        assert_eq!(
            parse_target("123456789012345678"),
            Some(Target::Channel(123_456_789_012_345_678))
        );
        assert_eq!(parse_target("alerts"), None);
        assert_eq!(parse_target("channel:0"), None);
    }
}
