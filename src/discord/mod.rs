//! Discord: the serenity client (slash commands), rendering alerts into messages, and
//! delivering them over Discord's REST API with our own pacing and error handling.

pub mod pace;
pub mod render;
pub mod rest;

/// One message to post: the JSON body of `POST /channels/{id}/messages`, including its
/// deterministic `nonce` and `enforce_nonce: true`, so a retry never posts twice.
#[derive(Debug, Clone, PartialEq)]
pub struct OutgoingMessage {
    pub payload: serde_json::Value,
}
