//! Reading Reddit through its OAuth API (optional). Reddit blocks anonymous readers of its
//! `.rss` feeds from many networks; with an app's credentials in the environment
//! (`NEWSHOUND_REDDIT_CLIENT_ID`, `NEWSHOUND_REDDIT_CLIENT_SECRET`), `reddit:` shorthands
//! expand to `https://oauth.reddit.com/…​.json` and every request there carries an app-only
//! bearer token (OAuth2 client credentials), fetched once and reused until it expires.
//! The secret is read from the environment only and never logged or shown.

use std::time::{Duration, Instant};

use reqwest::Client;
use url::Url;

/// The client id's environment variable.
pub const CLIENT_ID_ENV: &str = "NEWSHOUND_REDDIT_CLIENT_ID";
/// The client secret's environment variable.
pub const CLIENT_SECRET_ENV: &str = "NEWSHOUND_REDDIT_CLIENT_SECRET";
/// Test-only: where tokens come from (default Reddit's own endpoint).
pub const TOKEN_URL_ENV: &str = "NEWSHOUND_REDDIT_TOKEN_URL";
/// Reddit's API host, which takes bearer tokens.
pub const API_BASE: &str = "https://oauth.reddit.com";
const TOKEN_URL: &str = "https://www.reddit.com/api/v1/access_token";
/// A token is renewed this long before Reddit says it expires.
const EXPIRY_MARGIN: Duration = Duration::from_secs(60);

/// An app's credentials and where they are used.
#[derive(Clone, PartialEq, Eq)]
pub struct RedditCredentials {
    client_id: String,
    client_secret: String,
    token_url: Url,
    /// Requests whose URL starts with this get the token (the API, or its test stand-in).
    api_prefix: String,
}

impl std::fmt::Debug for RedditCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedditCredentials")
            .field("client_id", &self.client_id)
            .field("client_secret", &"(hidden)")
            .field("token_url", &self.token_url.as_str())
            .field("api_prefix", &self.api_prefix)
            .finish()
    }
}

impl RedditCredentials {
    /// From `vars` (name, value pairs): `None` unless both the id and the secret are set.
    /// The API prefix follows the `reddit` shorthand base override when one is set.
    pub fn from_vars(vars: impl IntoIterator<Item = (String, String)>) -> Option<Self> {
        let (mut id, mut secret, mut token_url, mut base) = (None, None, None, None);
        for (name, value) in vars {
            let value = value.trim().to_string();
            if value.is_empty() {
                continue;
            }
            match name.as_str() {
                CLIENT_ID_ENV => id = Some(value),
                CLIENT_SECRET_ENV => secret = Some(value),
                TOKEN_URL_ENV => token_url = Url::parse(&value).ok(),
                n if n == format!("{}REDDIT", super::shorthand::BASE_ENV_PREFIX) => {
                    base = Some(value.trim_end_matches('/').to_string());
                }
                _ => {}
            }
        }
        Some(RedditCredentials {
            client_id: id?,
            client_secret: secret?,
            token_url: token_url.or_else(|| Url::parse(TOKEN_URL).ok())?,
            api_prefix: format!("{}/", base.as_deref().unwrap_or(API_BASE)),
        })
    }

    /// From this process's environment.
    pub fn from_env() -> Option<Self> {
        Self::from_vars(std::env::vars())
    }
}

/// The credentials and the current token.
pub struct RedditAuth {
    credentials: RedditCredentials,
    token: tokio::sync::Mutex<Option<(String, Instant)>>,
}

impl RedditAuth {
    pub fn new(credentials: RedditCredentials) -> RedditAuth {
        RedditAuth {
            credentials,
            token: tokio::sync::Mutex::new(None),
        }
    }

    /// Whether a request to `url` goes to the API and needs the token.
    pub fn applies_to(&self, url: &Url) -> bool {
        url.as_str().starts_with(&self.credentials.api_prefix)
    }

    /// A valid token: the one held, or a new one from the token endpoint.
    pub async fn bearer(&self, client: &Client, timeout: Duration) -> Result<String, String> {
        let mut held = self.token.lock().await;
        if let Some((token, until)) = held.as_ref() {
            if Instant::now() < *until {
                return Ok(token.clone());
            }
        }
        let (token, lifetime) = self.request(client, timeout).await?;
        let until = Instant::now() + lifetime.saturating_sub(EXPIRY_MARGIN);
        *held = Some((token.clone(), until));
        Ok(token)
    }

    /// Forgets the token (the API answered 401: it was revoked or expired early).
    pub async fn invalidate(&self) {
        *self.token.lock().await = None;
    }

    async fn request(
        &self,
        client: &Client,
        timeout: Duration,
    ) -> Result<(String, Duration), String> {
        #[derive(serde::Deserialize)]
        struct Answer {
            access_token: String,
            #[serde(default)]
            expires_in: Option<u64>,
        }
        let c = &self.credentials;
        let send = client
            .post(c.token_url.clone())
            .basic_auth(&c.client_id, Some(&c.client_secret))
            .form(&[("grant_type", "client_credentials")])
            .send();
        let response = match tokio::time::timeout(timeout, send).await {
            Err(_) => return Err("Reddit's token endpoint did not answer in time".to_string()),
            Ok(Err(e)) => return Err(format!("Reddit's token endpoint could not be reached: {e}")),
            Ok(Ok(r)) => r,
        };
        let status = response.status();
        if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
            return Err(format!(
                "Reddit refused the app credentials (HTTP {status}) — check {CLIENT_ID_ENV} and {CLIENT_SECRET_ENV}"
            ));
        }
        if !status.is_success() {
            return Err(format!("Reddit's token endpoint answered HTTP {status}"));
        }
        let answer: Answer = response
            .json()
            .await
            .map_err(|e| format!("Reddit's token endpoint sent no token: {e}"))?;
        Ok((
            answer.access_token,
            Duration::from_secs(answer.expires_in.unwrap_or(3600)),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect()
    }

    #[test]
    fn both_the_id_and_the_secret_are_needed() {
        assert!(RedditCredentials::from_vars(vars(&[(CLIENT_ID_ENV, "id")])).is_none());
        assert!(RedditCredentials::from_vars(vars(&[
            (CLIENT_ID_ENV, "id"),
            (CLIENT_SECRET_ENV, " ")
        ]))
        .is_none());
        let c = RedditCredentials::from_vars(vars(&[
            (CLIENT_ID_ENV, "id"),
            (CLIENT_SECRET_ENV, "s3cret"),
        ]))
        .unwrap();
        let auth = RedditAuth::new(c.clone());
        assert!(auth.applies_to(&Url::parse("https://oauth.reddit.com/r/rust/.json").unwrap()));
        assert!(!auth.applies_to(&Url::parse("https://www.reddit.com/r/rust/.rss").unwrap()));
        assert!(!auth.applies_to(&Url::parse("https://oauth.reddit.com.evil.example/x").unwrap()));
        assert!(
            !format!("{c:?}").contains("s3cret"),
            "the secret is never printed"
        );
    }
}
