//! The Discord sink: opens a member's DM channel when the target is one, renders the alert or
//! digest, posts it through the pacer and says what Discord answered ([`Sent`] with the
//! message ids, or a [`SendError`]). It keeps no outbox state: delivery records outcomes,
//! chooses DM fallbacks and decides when admins hear of a broken channel.

use serde_json::json;

use crate::core::alert::Alert;
use crate::core::digest::Digest;
use crate::core::limits::{self, escape_markdown, fit};
use crate::core::model::Target;
use crate::delivery::{Destination, Outgoing, SendError, Sent, Sink};
use crate::discord::pace::Pacer;
use crate::discord::render::{render_alert, render_digest};
use crate::discord::rest::{send_all, DiscordRest};
use crate::discord::OutgoingMessage;

pub struct DiscordSink {
    pub rest: DiscordRest,
    pub pacer: Pacer,
}

/// The error for a target that names no Discord channel (a config subscription's `channel`
/// that is not an id).
fn not_discord(target: &Target) -> SendError {
    SendError::Rejected {
        reason: format!(
            "target `{target}` is not a Discord channel id; give config subscriptions `channel = \"<channel id>\"`"
        ),
    }
}

impl DiscordSink {
    /// The channel to post in for `target`, opening the member's DM channel when needed. A
    /// DM that cannot be opened (other than for a transient reason) is a broken target, so
    /// delivery falls back.
    async fn channel_of(&self, target: &Target) -> Result<u64, SendError> {
        match target {
            Target::Channel(id) => Ok(*id),
            Target::Dm(user) => match self.rest.dm_channel(*user).await {
                Ok(id) => Ok(id),
                Err(e) if e.is_transient() || e.is_rate_limited() => Err(SendError::Retry {
                    reason: e.to_string(),
                }),
                Err(e) if e.is_unauthorized() => Err(SendError::Fatal {
                    reason: e.to_string(),
                }),
                Err(e) => Err(SendError::TargetBroken {
                    reason: format!("cannot open a direct message: {e}"),
                }),
            },
            Target::Default | Target::Named(_) => Err(not_discord(target)),
        }
    }

    async fn send_alert(&self, alert: &Alert, to: Destination<'_>) -> Result<Sent, SendError> {
        let (channel, messages) = match to {
            Destination::Target(target) => {
                let channel = self.channel_of(target).await?;
                (channel, alert_messages(alert))
            }
            Destination::InsteadOfDm { channel, user } => {
                let mut messages = alert_messages(alert);
                if let Some(first) = messages.first_mut() {
                    first.payload["content"] = json!(format!(
                        "<@{user}> I couldn't send you this by direct message (are your DMs closed?), so here it is."
                    ));
                    first.payload["allowed_mentions"] =
                        json!({"parse": [], "users": [user.to_string()]});
                    first.payload["nonce"] = json!(format!("nh{}-dm", alert.id));
                }
                messages.truncate(1);
                (channel, messages)
            }
        };
        match send_all(&self.rest, &self.pacer, channel, &messages).await {
            Ok(message_ids) => Ok(Sent { message_ids }),
            Err(SendError::Rejected { reason }) => {
                // Discord refused the body (400): never resend it unchanged. One fallback with
                // only the essentials; if that fails too, the alert is dropped with the reason.
                tracing::warn!(outbox_id = alert.id, %reason, "Discord rejected the alert; retrying once in minimal form");
                let minimal = minimal_message(alert, &messages);
                match send_all(&self.rest, &self.pacer, channel, &[minimal]).await {
                    Ok(message_ids) => Ok(Sent { message_ids }),
                    Err(SendError::Rejected { reason: second }) => Err(SendError::Rejected {
                        reason: format!("{reason}; minimal form also refused: {second}"),
                    }),
                    Err(other) => Err(other),
                }
            }
            Err(other) => Err(other),
        }
    }

    async fn send_digest(&self, digest: &Digest, to: Destination<'_>) -> Result<Sent, SendError> {
        let member = digest.user.parse::<u64>().ok();
        let (channel, messages) = match to {
            Destination::Target(target) => {
                let channel = self.channel_of(target).await?;
                // In a channel the digest mentions its member; in their DMs nobody.
                let mention = matches!(target, Target::Channel(_))
                    .then_some(member)
                    .flatten();
                (channel, render_digest(digest, mention))
            }
            Destination::InsteadOfDm { channel, user } => {
                let mut messages = render_digest(digest, Some(user));
                for (n, m) in messages.iter_mut().enumerate() {
                    m.payload["nonce"] = json!(format!("nd{}-dm{}", digest.id, n + 1));
                }
                if let Some(first) = messages.first_mut() {
                    first.payload["content"] = json!(format!(
                        "<@{user}> I couldn't send you this digest by direct message (are your DMs closed?), so here it is."
                    ));
                }
                (channel, messages)
            }
        };
        let message_ids = send_all(&self.rest, &self.pacer, channel, &messages).await?;
        Ok(Sent { message_ids })
    }

    /// Edits the first alert's message: its embed gains an "Also covered by" field.
    async fn edit_also_covered(
        &self,
        original: &Alert,
        message_ids: &[u64],
        reports: &[Alert],
    ) -> Result<Sent, SendError> {
        let Some(&message_id) = message_ids.first() else {
            return Err(SendError::Rejected {
                reason: "the first alert's message id is unknown".into(),
            });
        };
        let channel = match self.channel_of(&Target::parse(&original.target)).await {
            Err(SendError::TargetBroken { reason }) => return Err(SendError::Rejected { reason }),
            other => other?,
        };
        let mut with_reports = original.clone();
        with_reports.also_covered = reports.iter().map(Into::into).collect();
        let Some(embed) = alert_messages(&with_reports)
            .into_iter()
            .next()
            .and_then(|m| m.payload.get("embeds").and_then(|e| e.get(0)).cloned())
        else {
            return Err(SendError::Rejected {
                reason: "the first alert has no embed to edit".into(),
            });
        };
        let payload = json!({"embeds": [embed], "allowed_mentions": {"parse": []}});
        let _permit = self.pacer.acquire_global().await;
        match self.rest.edit_message(channel, message_id, &payload).await {
            Ok(()) => Ok(Sent {
                message_ids: vec![message_id],
            }),
            Err(e) if e.is_transient() || e.is_rate_limited() => Err(SendError::Retry {
                reason: e.to_string(),
            }),
            Err(e) if e.is_unauthorized() => Err(SendError::Fatal {
                reason: e.to_string(),
            }),
            Err(e) => Err(SendError::Rejected {
                reason: format!("cannot edit the first alert: {e}"),
            }),
        }
    }
}

/// The rendered alert, its embed carrying an "Also covered by" field when other sources'
/// reports go out with it.
fn alert_messages(alert: &Alert) -> Vec<OutgoingMessage> {
    let mut messages = render_alert(alert, alert.id);
    if alert.also_covered.is_empty() {
        return messages;
    }
    let value = fit(
        &also_covered_value(&alert.also_covered),
        limits::EMBED_FIELD_VALUE_MAX,
    );
    let field = json!({"name": "Also covered by", "value": value, "inline": false});
    if let Some(embed) = messages
        .first_mut()
        .and_then(|m| m.payload.get_mut("embeds"))
        .and_then(|e| e.get_mut(0))
    {
        match embed.get_mut("fields").and_then(|f| f.as_array_mut()) {
            Some(fields) => fields.push(field),
            None => embed["fields"] = json!([field]),
        }
    }
    messages
}

/// Title and link only: what is left when Discord refuses the full alert.
fn minimal_message(alert: &Alert, full: &[OutgoingMessage]) -> OutgoingMessage {
    let title = fit(&escape_markdown(&alert.title), limits::MINIMAL_TITLE_MAX);
    let link = alert
        .link
        .as_deref()
        .filter(|l| l.starts_with("https://") || l.starts_with("http://"))
        .map(|l| format!("\n<{}>", fit(l, limits::MINIMAL_LINK_MAX)))
        .unwrap_or_default();
    let mut payload = full
        .first()
        .map_or_else(|| json!({}), |m| m.payload.clone());
    let mentions = payload
        .get("content")
        .and_then(|c| c.as_str())
        .unwrap_or_default()
        .to_string();
    let content = fit(
        &format!(
            "{mentions}\n**{title}** — {}{link}",
            escape_markdown(&alert.source)
        ),
        limits::MESSAGE_CONTENT_MAX,
    );
    payload["content"] = json!(content.trim());
    if let Some(map) = payload.as_object_mut() {
        map.remove("embeds");
    }
    payload["nonce"] = json!(format!("nh{}-min", alert.id));
    payload["enforce_nonce"] = json!(true);
    OutgoingMessage { payload }
}

/// "[Source](link) · Source" with sources escaped and links kept to http(s).
fn also_covered_value(reports: &[crate::core::alert::Report]) -> String {
    reports
        .iter()
        .map(|r| {
            let source = escape_markdown(&r.source);
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
    async fn send(&self, what: Outgoing<'_>, to: Destination<'_>) -> Result<Sent, SendError> {
        match what {
            Outgoing::Alert(alert) => self.send_alert(alert, to).await,
            Outgoing::Digest(digest) => self.send_digest(digest, to).await,
        }
    }

    async fn update(
        &self,
        original: &Alert,
        message_ids: &[u64],
        reports: &[Alert],
    ) -> Result<Sent, SendError> {
        self.edit_also_covered(original, message_ids, reports).await
    }

    /// A channel whose 5-per-5-s window is full is set aside by the drain, not waited on.
    fn ready_at(&self, target: &str) -> Option<std::time::Instant> {
        match Target::parse(target) {
            Target::Channel(id) => self.pacer.channel_ready_at(id),
            // A DM channel's id is known only once opened; the pacer handles it when sending.
            _ => None,
        }
    }

    /// Posts a notice about a newly suspended channel in a server's alert channel.
    async fn notify_admins(&self, channel: &Target, broken: &Target, reason: &str) {
        let Target::Channel(channel) = *channel else {
            return;
        };
        let shown = match broken {
            Target::Channel(id) => format!("<#{id}>"),
            _ => "a delivery target".to_string(),
        };
        let text = crate::core::summary::truncate_at_boundary(
            &format!("⚠ newshound can't post alerts in {shown}: {reason}. Alerts for it are kept and will be delivered once it is fixed (`/sources list` shows the status)."),
            limits::NOTICE_MAX,
        );
        let message = OutgoingMessage {
            payload: json!({"content": text, "allowed_mentions": {"parse": []}}),
        };
        if let Err(e) = send_all(&self.rest, &self.pacer, channel, &[message]).await {
            tracing::warn!(error = %e, "cannot post the broken-channel notice");
        }
    }

    async fn notify_health(&self, channel: u64, event: i64, text: &str) -> Result<(), String> {
        // `ns`: source events (alerts are `nh`, digests `nd`); a resend after a crash between
        // the post and its record is answered with the first message.
        let message = OutgoingMessage {
            payload: json!({
                "content": text,
                "allowed_mentions": {"parse": []},
                "nonce": format!("ns{event}"),
                "enforce_nonce": true,
            }),
        };
        send_all(&self.rest, &self.pacer, channel, &[message])
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::alert::Report;

    #[test]
    fn reports_sent_with_a_first_alert_become_one_embed_field() {
        let alert = Alert {
            id: 3,
            source: "Tech Wire".into(),
            title: "Meta ships glasses".into(),
            target: "channel:5".into(),
            also_covered: vec![
                Report {
                    source: "Herald *daily*".into(),
                    link: Some("https://herald.example/a".into()),
                },
                Report {
                    source: "Local".into(),
                    link: Some("javascript:alert(1)".into()),
                },
            ],
            ..Alert::default()
        };
        let messages = alert_messages(&alert);
        assert_eq!(messages.len(), 1);
        let fields = &messages[0].payload["embeds"][0]["fields"];
        let field = fields
            .as_array()
            .and_then(|f| f.iter().find(|f| f["name"] == "Also covered by"))
            .expect("an Also covered by field");
        assert_eq!(
            field["value"],
            "[Herald \\*daily\\*](https://herald.example/a) · Local"
        );
    }

    #[test]
    fn the_minimal_form_keeps_mentions_title_and_link_only() {
        let alert = Alert {
            id: 9,
            source: "Wire".into(),
            title: "A title".into(),
            link: Some("https://x.example/a".into()),
            target: "channel:5".into(),
            subscribers: vec!["42".into()],
            ..Alert::default()
        };
        let full = render_alert(&alert, alert.id);
        let min = minimal_message(&alert, &full);
        assert!(min.payload.get("embeds").is_none());
        let content = min.payload["content"].as_str().unwrap_or_default();
        assert!(
            content.contains("<@42>") && content.contains("**A title** — Wire"),
            "{content}"
        );
        assert_eq!(min.payload["nonce"], "nh9-min");
    }
}
