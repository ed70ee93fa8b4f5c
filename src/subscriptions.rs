//! The live set of subscriptions: every query compiled into one matcher, with who each
//! belongs to, answering "which subscriptions does this item match".

use crate::core::alert::{plan_alerts, PlannedAlert, Recipient};
use crate::core::matcher::{Document, Matcher};
use crate::core::query;
use crate::store::SubscriptionRow;

/// One subscription an item matched, with the terms that matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionMatch<'a> {
    pub row: &'a SubscriptionRow,
    pub matched: Vec<String>,
}

/// All subscriptions compiled into one matcher, with who each belongs to.
pub struct SubscriptionSet {
    matcher: Matcher<usize>,
    rows: Vec<SubscriptionRow>,
}

impl SubscriptionSet {
    /// Compiles `rows`. Rows whose query no longer parses are skipped and returned with the
    /// reason, so one bad row never stops matching for everyone else.
    pub fn new(rows: Vec<SubscriptionRow>) -> (Self, Vec<(SubscriptionRow, String)>) {
        let mut kept = Vec::with_capacity(rows.len());
        let mut queries = Vec::with_capacity(rows.len());
        let mut rejected = Vec::new();
        for row in rows {
            match query::parse(&row.query) {
                Ok(q) => {
                    queries.push((kept.len(), q));
                    kept.push(row);
                }
                Err(e) => rejected.push((row, e.to_string())),
            }
        }
        (
            SubscriptionSet {
                matcher: Matcher::new(queries),
                rows: kept,
            },
            rejected,
        )
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The subscriptions one item matches, in subscription order.
    ///
    /// `source_guild`: a source added in a Discord server feeds only that server's
    /// subscriptions; `None` (config sources) feeds everyone.
    pub fn matches_for(
        &self,
        title: &str,
        body: &str,
        source_guild: Option<&str>,
    ) -> Vec<SubscriptionMatch<'_>> {
        let matches = self.matcher.match_document(&Document { title, body });
        matches
            .into_iter()
            .filter_map(|m| {
                let row = self.rows.get(m.key)?;
                if let Some(guild) = source_guild {
                    if row.guild_id.as_deref() != Some(guild) {
                        return None;
                    }
                }
                Some(SubscriptionMatch {
                    row,
                    matched: m.matched,
                })
            })
            .collect()
    }

    /// The alerts one item produces, one per target (every match delivered instantly).
    pub fn alerts_for(
        &self,
        title: &str,
        body: &str,
        source_guild: Option<&str>,
    ) -> Vec<PlannedAlert> {
        let found = self.matches_for(title, body, source_guild);
        let matches: Vec<crate::core::matcher::Match<usize>> = found
            .iter()
            .enumerate()
            .map(|(i, m)| crate::core::matcher::Match {
                key: i,
                matched: m.matched.clone(),
            })
            .collect();
        plan_alerts(&matches, |k| {
            let row = found.get(k)?.row;
            Some(Recipient {
                user: row.user.clone(),
                target: row.target.clone(),
            })
        })
    }
}
