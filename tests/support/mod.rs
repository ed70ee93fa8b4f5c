//! Test support shared by the black-box tests: a fake Discord on loopback and its payloads.
// Each test crate includes this module with `mod support;` and uses a different part of it, so
// unused items (and re-exports) are expected in every crate but one; `expect` would be
// unfulfilled there.
#![allow(
    dead_code,
    unused_imports,
    reason = "each test crate uses a different subset of the support module"
)]

pub mod discord_payloads;
pub mod discord_validate;
pub mod fake_discord;
