//! (stub: being written on branch `query`)
#![allow(dead_code, clippy::pedantic)]

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    pub text: String,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct QueryError(String);

pub fn parse(text: &str) -> Result<Query, QueryError> {
    if text.trim().is_empty() {
        return Err(QueryError("empty query".into()));
    }
    Ok(Query {
        text: text.trim().to_string(),
    })
}

impl std::fmt::Display for Query {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}
