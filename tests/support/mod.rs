//! Test support shared by the black-box tests: temp configs, feeds on a local server, the
//! real binary, a fake Discord on loopback, and the started worlds that tie them together.
//!
//! - `config`: a temp directory and the config written into it ([`config::Setup`]);
//! - `feeds`: RSS items and documents, and the routes that serve them;
//! - `binary`: the real `newshound` (`once`, `fetch`, ..., and a running [`binary::Bot`]);
//! - `commands`: the fake guild's members, their slash commands, reading replies;
//! - `world`: [`world::World`] (bot + fake Discord + feeds) and [`world::OnceWorld`];
//! - `fake_discord`, `discord_payloads`, `discord_validate`: the fake Discord itself;
//! - `ops`: the `[http]` listener from outside: a strict Prometheus text parser, plain HTTP
//!   requests, and headless Chromium.
// Each test crate includes this module with `mod support;` and uses a different part of it, so
// unused items (and re-exports) are expected in every crate but one; `expect` would be
// unfulfilled there.
#![allow(
    dead_code,
    unused_imports,
    reason = "each test crate uses a different subset of the support module"
)]

pub mod binary;
pub mod commands;
pub mod config;
pub mod discord_payloads;
pub mod discord_validate;
pub mod fake_discord;
pub mod feeds;
pub mod ops;
pub mod world;
