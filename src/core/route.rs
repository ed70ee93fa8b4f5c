//! Who gets an item, and how: each matching subscription's member gets it instantly, held for
//! a digest (hourly, daily, during quiet hours, over the hourly cap), or not at all while the
//! subscription is snoozed or limited to another source. Pure: the members' settings and
//! hourly counts come in as [`MemberFacts`]; the instant alerts it grants are counted in a
//! [`HourCounts`] the caller keeps across the items of one poll and then writes.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::core::alert::PlannedAlert;
use crate::core::digest::{hour_key, route, Cadence, MemberPrefs, Reason, Route};
use crate::core::model::SubscriptionMatch;

/// An item held for a member's digest, as planned at poll time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    /// `''` for config subscriptions.
    pub guild: String,
    pub user: String,
    pub target: String,
    pub matched: Vec<String>,
    pub due: DateTime<Utc>,
    pub reason: Reason,
}

/// A member: the server (`''` for config users) and the user id.
pub type MemberKey = (String, String);

/// What routing needs to know of one member, read before planning.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberFacts {
    pub prefs: MemberPrefs,
    /// The member's current local hour ([`hour_key`]) when the facts were read.
    pub hour: String,
    /// Instant alerts the member already got in that hour.
    pub sent_this_hour: u32,
}

impl MemberFacts {
    /// Facts for a member with the given settings and count, at `now`.
    pub fn new(prefs: MemberPrefs, now: DateTime<Utc>, sent_this_hour: u32) -> MemberFacts {
        MemberFacts {
            hour: hour_key(prefs.timezone, now),
            prefs,
            sent_this_hour,
        }
    }
}

/// Instant alerts granted while planning, per member (on top of their stored count).
pub type HourCounts = HashMap<MemberKey, u32>;

/// One member's matches in one target.
struct Wanted<'a> {
    guild: &'a str,
    user: &'a str,
    target: &'a str,
    has_instant: bool,
    cadences: Vec<Cadence>,
    /// Indices into the item's matches.
    matches: Vec<usize>,
    matched: Vec<&'a str>,
}

/// Whether a subscription takes this item at all: not snoozed, and not limited to another
/// source.
fn takes(m: &SubscriptionMatch<'_>, source_name: &str, now: DateTime<Utc>) -> bool {
    let snoozed = m.row.snoozed_until.is_some_and(|until| until > now);
    let other_source = m
        .row
        .source
        .is_some_and(|only| !only.eq_ignore_ascii_case(source_name));
    !snoozed && !other_source
}

/// Splits one item's matches into instant alerts (one per target) and items held for
/// digests, counting every instant alert against its member's hourly cap in `counted`.
/// `facts` misses a member: default settings and nothing sent this hour.
pub fn route_item(
    found: &[SubscriptionMatch<'_>],
    source_name: &str,
    now: DateTime<Utc>,
    facts: &HashMap<MemberKey, MemberFacts>,
    counted: &mut HourCounts,
) -> (Vec<PlannedAlert>, Vec<Held>) {
    // Channel-wide subscriptions (no user) mention nobody and have no member settings.
    let mut instant: Vec<usize> = Vec::new();
    let mut wanted: Vec<Wanted<'_>> = Vec::new();
    let mut index: HashMap<(&str, &str, &str), usize> = HashMap::new();
    for (i, m) in found.iter().enumerate() {
        if !takes(m, source_name, now) {
            continue;
        }
        if m.row.user.is_empty() {
            instant.push(i);
            continue;
        }
        let guild = m.row.guild_id.unwrap_or_default();
        let key = (guild, m.row.user, m.row.target);
        let at = *index.entry(key).or_insert_with(|| {
            wanted.push(Wanted {
                guild,
                user: m.row.user,
                target: m.row.target,
                has_instant: false,
                cadences: Vec::new(),
                matches: Vec::new(),
                matched: Vec::new(),
            });
            wanted.len() - 1
        });
        let w = &mut wanted[at];
        w.has_instant |= m.row.cadence == Cadence::Instant;
        w.cadences.push(m.row.cadence);
        w.matches.push(i);
        for term in &m.matched {
            if !w.matched.contains(&term.as_str()) {
                w.matched.push(term);
            }
        }
    }
    let mut held = Vec::new();
    let default_facts = MemberFacts::default();
    for w in wanted {
        let member = (w.guild.to_string(), w.user.to_string());
        let facts = facts.get(&member).unwrap_or(&default_facts);
        match decide(&w, facts, now, counted, member) {
            Route::Instant => instant.extend_from_slice(&w.matches),
            Route::Digest { due, reason } => held.push(Held {
                guild: w.guild.to_string(),
                user: w.user.to_string(),
                target: w.target.to_string(),
                matched: w.matched.iter().map(|t| (*t).to_string()).collect(),
                due,
                reason,
            }),
        }
    }
    // A member pinged for this item (in any target) does not also get it in a digest.
    let pinged: std::collections::HashSet<(&str, &str)> = instant
        .iter()
        .map(|&i| (found[i].row.guild_id.unwrap_or(""), found[i].row.user))
        .collect();
    held.retain(|h| !pinged.contains(&(h.guild.as_str(), h.user.as_str())));
    instant.sort_unstable();
    (alerts_by_target(found, &instant), held)
}

/// How one member gets the item in one target: any instant subscription makes it instant
/// (within quiet hours and the hourly cap); otherwise the earliest of their digests.
fn decide(
    w: &Wanted<'_>,
    facts: &MemberFacts,
    now: DateTime<Utc>,
    counted: &mut HourCounts,
    member: MemberKey,
) -> Route {
    if w.has_instant {
        let granted = counted.entry(member).or_insert(0);
        let r = route(
            Cadence::Instant,
            &facts.prefs,
            now,
            facts.sent_this_hour + *granted,
        );
        if r == Route::Instant {
            *granted += 1;
        }
        return r;
    }
    w.cadences
        .iter()
        .map(|c| route(*c, &facts.prefs, now, 0))
        .min_by_key(|r| match r {
            Route::Instant => now,
            Route::Digest { due, .. } => *due,
        })
        .unwrap_or(Route::Instant)
}

/// One alert per target, listing its members and matched terms in first-match order.
/// `instant` are indices into `found`, ascending.
pub fn alerts_by_target(found: &[SubscriptionMatch<'_>], instant: &[usize]) -> Vec<PlannedAlert> {
    let mut by_target: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    let mut alerts: Vec<PlannedAlert> = Vec::new();
    // Members already listed per alert: a set, so an item reaching thousands of members in
    // one channel stays linear.
    let mut listed: Vec<std::collections::HashSet<&str>> = Vec::new();
    for &i in instant {
        let Some(m) = found.get(i) else { continue };
        let at = *by_target.entry(m.row.target).or_insert_with(|| {
            alerts.push(PlannedAlert {
                target: m.row.target.to_string(),
                subscribers: Vec::new(),
                matched: Vec::new(),
                summary: None,
            });
            listed.push(std::collections::HashSet::new());
            alerts.len() - 1
        });
        let alert = &mut alerts[at];
        if !m.row.user.is_empty() && listed[at].insert(m.row.user) {
            alert.subscribers.push(m.row.user.to_string());
        }
        for term in &m.matched {
            if !alert.matched.contains(term) {
                alert.matched.push(term.clone());
            }
        }
    }
    // Targets in a stable (sorted) order, as before.
    let order: Vec<usize> = by_target.into_values().collect();
    let mut slots: Vec<Option<PlannedAlert>> = alerts.into_iter().map(Some).collect();
    order.into_iter().filter_map(|i| slots[i].take()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::digest::QuietHours;
    use crate::core::model::SubscriptionView;
    use chrono::TimeZone;

    fn view<'a>(id: i64, user: &'a str, target: &'a str, cadence: Cadence) -> SubscriptionView<'a> {
        SubscriptionView {
            id,
            origin: "discord",
            user,
            query: "Meta",
            target,
            guild_id: Some("1"),
            mode: cadence.mode(),
            digest_at: None,
            cadence,
            snoozed_until: None,
            source: None,
        }
    }

    fn found<'a>(rows: &[SubscriptionView<'a>]) -> Vec<SubscriptionMatch<'a>> {
        rows.iter()
            .map(|r| SubscriptionMatch {
                row: *r,
                matched: vec!["Meta".into()],
            })
            .collect()
    }

    fn noon() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 4, 12, 10, 0).unwrap()
    }

    /// Routes `rows` (all matched) from "Wire" at noon, for members with no settings.
    fn route_plain(rows: &[SubscriptionView<'_>]) -> (Vec<PlannedAlert>, Vec<Held>) {
        route_item(
            &found(rows),
            "Wire",
            noon(),
            &HashMap::new(),
            &mut HourCounts::new(),
        )
    }

    #[test]
    fn one_alert_per_target_listing_each_member_once() {
        let rows = [
            view(1, "10", "channel:5", Cadence::Instant),
            view(2, "11", "channel:5", Cadence::Instant),
            view(3, "10", "channel:5", Cadence::Instant),
            view(4, "12", "channel:6", Cadence::Instant),
        ];
        let (alerts, held) = route_plain(&rows);
        assert!(held.is_empty());
        assert_eq!(alerts.len(), 2);
        assert_eq!(alerts[0].target, "channel:5");
        assert_eq!(alerts[0].subscribers, vec!["10", "11"]);
        assert_eq!(alerts[1].subscribers, vec!["12"]);
    }

    #[test]
    fn the_hourly_cap_counts_across_the_items_of_one_poll() {
        let rows = [view(1, "10", "channel:5", Cadence::Instant)];
        let prefs = MemberPrefs {
            hourly_cap: Some(2),
            ..MemberPrefs::default()
        };
        let facts: HashMap<MemberKey, MemberFacts> = [(
            ("1".into(), "10".into()),
            MemberFacts::new(prefs, noon(), 1),
        )]
        .into();
        let mut counted = HourCounts::new();
        let (first, _) = route_item(&found(&rows), "Wire", noon(), &facts, &mut counted);
        let (second, held) = route_item(&found(&rows), "Wire", noon(), &facts, &mut counted);
        assert_eq!(
            first.len(),
            1,
            "one already sent, the cap is 2: this one goes out"
        );
        assert!(second.is_empty(), "the third in the hour is held");
        assert_eq!(held[0].reason, Reason::Cap);
        assert_eq!(counted[&("1".to_string(), "10".to_string())], 1);
    }

    #[test]
    fn an_instant_subscription_wins_over_a_digest_of_the_same_member() {
        let rows = [
            view(1, "10", "channel:5", Cadence::Hourly),
            view(2, "10", "dm:10", Cadence::Instant),
        ];
        let (alerts, held) = route_plain(&rows);
        assert_eq!(alerts.len(), 1);
        assert_eq!(alerts[0].target, "dm:10");
        assert!(held.is_empty(), "pinged once, not also in a digest");
    }

    #[test]
    fn quiet_hours_hold_an_instant_match() {
        let rows = [view(1, "10", "channel:5", Cadence::Instant)];
        let prefs = MemberPrefs {
            quiet: QuietHours::parse("12:00-13:00").ok(),
            ..MemberPrefs::default()
        };
        let facts: HashMap<MemberKey, MemberFacts> = [(
            ("1".into(), "10".into()),
            MemberFacts::new(prefs, noon(), 0),
        )]
        .into();
        let (alerts, held) = route_item(
            &found(&rows),
            "Wire",
            noon(),
            &facts,
            &mut HourCounts::new(),
        );
        assert!(alerts.is_empty());
        assert_eq!(held[0].reason, Reason::Quiet);
    }

    #[test]
    fn snoozed_and_other_source_subscriptions_take_nothing() {
        let mut snoozed = view(1, "10", "channel:5", Cadence::Instant);
        snoozed.snoozed_until = Some(noon() + chrono::Duration::hours(1));
        let mut elsewhere = view(2, "11", "channel:5", Cadence::Instant);
        elsewhere.source = Some("Other");
        let mut here = view(3, "12", "channel:5", Cadence::Instant);
        here.source = Some("wire");
        let (alerts, _) = route_item(
            &found(&[snoozed, elsewhere, here]),
            "Wire",
            noon(),
            &HashMap::new(),
            &mut HourCounts::new(),
        );
        assert_eq!(alerts[0].subscribers, vec!["12"]);
    }
}
