//! (stub: being written on branch `query`)
#![allow(dead_code, clippy::pedantic)]
use crate::core::query::Query;
use std::hash::Hash;

pub struct Document<'a> {
    pub title: &'a str,
    pub body: &'a str,
}
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match<K> {
    pub key: K,
    pub matched: Vec<String>,
}
pub struct Matcher<K> {
    subs: Vec<(K, Query)>,
}
impl<K: Copy + Eq + Hash> Matcher<K> {
    pub fn new(subscriptions: impl IntoIterator<Item = (K, Query)>) -> Self {
        Self {
            subs: subscriptions.into_iter().collect(),
        }
    }
    pub fn match_document(&self, doc: &Document<'_>) -> Vec<Match<K>> {
        let text = format!("{} {}", doc.title, doc.body);
        self.subs
            .iter()
            .filter(|(_, q)| {
                text.split(|c: char| !c.is_alphanumeric())
                    .any(|w| w == q.text)
            })
            .map(|(k, q)| Match {
                key: *k,
                matched: vec![q.text.clone()],
            })
            .collect()
    }
    pub fn len(&self) -> usize {
        self.subs.len()
    }
    pub fn is_empty(&self) -> bool {
        self.subs.is_empty()
    }
}
