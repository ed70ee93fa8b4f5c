//! newshound: keyword news alerts. Watches RSS / Atom / JSON Feed sources on cron schedules,
//! matches new items against keyword subscriptions and delivers alerts (console or Discord).

pub mod app;
pub mod cli;
pub mod config;
pub mod core;
pub mod delivery;
pub mod discord;
pub mod ops;
pub mod pipeline;
pub mod push;
pub mod schedule;
pub mod sources;
pub mod store;
pub mod subscriptions;
pub mod summarizer;

/// The delivery target of a subscription that names none.
pub const DEFAULT_TARGET: &str = "default";
