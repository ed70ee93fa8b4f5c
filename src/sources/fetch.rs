//! (stub: being written on branch `fetch`)
#![allow(dead_code, clippy::pedantic)]
use chrono::{DateTime, Utc};
use std::time::Duration;
use url::Url;

#[derive(Debug, Clone)]
pub struct FetchSettings {
    pub timeout: Duration,
    pub connect_timeout: Duration,
    pub max_body_bytes: u64,
    pub max_redirects: u8,
    pub per_host_concurrency: usize,
    pub concurrency: usize,
    pub user_agent: String,
}
impl Default for FetchSettings {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            max_body_bytes: 15 * 1024 * 1024,
            max_redirects: 5,
            per_host_concurrency: 2,
            concurrency: 16,
            user_agent: "newshound".into(),
        }
    }
}
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressPolicy {
    AllowPrivate,
    PublicOnly,
}
#[derive(Debug, Clone, Default)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}
#[derive(Debug, Clone, Default)]
pub struct Hints {
    pub not_before: Option<DateTime<Utc>>,
}
pub enum FetchOutcome {
    NotModified { hints: Hints },
    Fetched(Fetched),
}
pub struct Fetched {
    pub body: Vec<u8>,
    pub final_url: Option<Url>,
    pub content_type: Option<String>,
    pub validators: Validators,
    pub hints: Hints,
    pub permanent_redirect: Option<Url>,
}
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{0}")]
    Other(String),
}
impl FetchError {
    pub fn is_gone(&self) -> bool {
        false
    }
    pub fn retry_after(&self) -> Option<DateTime<Utc>> {
        None
    }
    pub fn status(&self) -> Option<u16> {
        None
    }
}
#[derive(Clone)]
pub struct Fetcher {
    settings: FetchSettings,
}
impl Fetcher {
    pub fn new(settings: FetchSettings) -> anyhow::Result<Self> {
        Ok(Self { settings })
    }
    pub async fn fetch(
        &self,
        location: &str,
        _v: &Validators,
        _p: AddressPolicy,
        _now: DateTime<Utc>,
    ) -> Result<FetchOutcome, FetchError> {
        let body = std::fs::read(location).map_err(|e| FetchError::Other(e.to_string()))?;
        Ok(FetchOutcome::Fetched(Fetched {
            body,
            final_url: None,
            content_type: None,
            validators: Validators::default(),
            hints: Hints::default(),
            permanent_redirect: None,
        }))
    }
}
