//! newshound: keyword news alerts. Watches RSS / Atom / JSON Feed sources on cron schedules,
//! matches new items against keyword subscriptions and delivers alerts (console or Discord).

pub mod config;
pub mod core;
pub mod sources;
