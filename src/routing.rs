//! Who gets an item, and how: each matching subscription's member gets it instantly, or held
//! for a digest (hourly, daily, during quiet hours, over the hourly cap), or not at all while
//! the subscription is snoozed or limited to another source. Runs inside the ingest transaction so counts stay exact.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rusqlite::Connection;

use crate::core::alert::{plan_alerts, PlannedAlert, Recipient};
use crate::core::digest::{hour_key, route, Cadence, MemberPrefs, Route};
use crate::core::matcher::Match;
use crate::store;
use crate::store::digest::{self as held_store, Held};
use crate::subscriptions::SubscriptionMatch;

/// One member's matches in one target.
struct Wanted {
    guild: String,
    user: String,
    target: String,
    cadences: Vec<Cadence>,
    /// Indices into the item's matches.
    matches: Vec<usize>,
    matched: Vec<String>,
}

/// Members' settings loaded once per poll.
#[derive(Default)]
pub struct PrefsCache(HashMap<(String, String), MemberPrefs>);

impl PrefsCache {
    fn get(&mut self, conn: &Connection, guild: &str, user: &str) -> store::Result<MemberPrefs> {
        let key = (guild.to_string(), user.to_string());
        if let Some(p) = self.0.get(&key) {
            return Ok(*p);
        }
        let prefs = held_store::member_settings(conn, guild, user)?.prefs();
        self.0.insert(key, prefs);
        Ok(prefs)
    }
}

/// Splits one item's matches into instant alerts (one per target) and items held for
/// digests. Counts every instant alert against its member's hourly cap.
pub fn route_item(
    conn: &Connection,
    found: &[SubscriptionMatch<'_>],
    source_name: &str,
    now: DateTime<Utc>,
    cache: &mut PrefsCache,
) -> store::Result<(Vec<PlannedAlert>, Vec<Held>)> {
    let mut instant: Vec<Match<usize>> = Vec::new();
    let mut wanted: Vec<Wanted> = Vec::new();
    for (i, m) in found.iter().enumerate() {
        if m.row.snoozed_until.is_some_and(|until| until > now) {
            continue;
        }
        if m.row
            .source
            .is_some_and(|only| !only.eq_ignore_ascii_case(source_name))
        {
            continue;
        }
        if m.row.user.is_empty() {
            // Channel-wide subscriptions mention nobody and have no member settings.
            instant.push(Match {
                key: i,
                matched: m.matched.clone(),
            });
            continue;
        }
        let guild = m.row.guild_id.unwrap_or_default().to_string();
        let cadence = Cadence::parse(m.row.mode, m.row.digest_at).unwrap_or(Cadence::Instant);
        let pos = wanted
            .iter()
            .position(|w| w.guild == guild && w.user == m.row.user && w.target == m.row.target);
        let w = if let Some(pos) = pos {
            &mut wanted[pos]
        } else {
            wanted.push(Wanted {
                guild,
                user: m.row.user.to_string(),
                target: m.row.target.to_string(),
                cadences: Vec::new(),
                matches: Vec::new(),
                matched: Vec::new(),
            });
            let last = wanted.len() - 1;
            &mut wanted[last]
        };
        w.cadences.push(cadence);
        w.matches.push(i);
        for term in &m.matched {
            if !w.matched.contains(term) {
                w.matched.push(term.clone());
            }
        }
    }
    let mut held = Vec::new();
    for w in wanted {
        let prefs = cache.get(conn, &w.guild, &w.user)?;
        // Any instant subscription makes the item instant for this member; otherwise the
        // earliest digest among theirs.
        let decided = if w.cadences.contains(&Cadence::Instant) {
            let hour = hour_key(prefs.timezone, now);
            let sent = held_store::sent_in_hour(conn, &w.guild, &w.user, &hour)?;
            let r = route(Cadence::Instant, &prefs, now, sent);
            if r == Route::Instant {
                held_store::count_instant(conn, &w.guild, &w.user, &hour)?;
            }
            r
        } else {
            w.cadences
                .iter()
                .map(|c| route(*c, &prefs, now, 0))
                .min_by_key(|r| match r {
                    Route::Instant => now,
                    Route::Digest { due, .. } => *due,
                })
                .unwrap_or(Route::Instant)
        };
        match decided {
            Route::Instant => instant.extend(w.matches.iter().map(|&i| Match {
                key: i,
                matched: found[i].matched.clone(),
            })),
            Route::Digest { due, reason } => held.push(Held {
                guild: w.guild,
                user: w.user,
                target: w.target,
                matched: w.matched,
                due,
                reason,
            }),
        }
    }
    // A member pinged for this item (in any target) does not also get it in a digest.
    let pinged: std::collections::HashSet<(&str, &str)> = instant
        .iter()
        .filter_map(|m| found.get(m.key))
        .map(|m| (m.row.guild_id.unwrap_or(""), m.row.user))
        .collect();
    held.retain(|h| !pinged.contains(&(h.guild.as_str(), h.user.as_str())));
    instant.sort_by_key(|m| m.key);
    let alerts = plan_alerts(&instant, |k| {
        let row = found.get(k)?.row;
        Some(Recipient {
            user: row.user.to_string(),
            target: row.target.to_string(),
        })
    });
    Ok((alerts, held))
}
