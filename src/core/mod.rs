//! The pure core: everything that decides. No I/O, no clock, no environment below here.

pub mod alert;
pub mod dedup;
pub mod digest;
pub mod health;
pub mod limits;
pub mod matcher;
pub mod model;
pub mod opml;
pub mod plan;
pub mod query;
pub mod route;
pub mod story;
pub mod summary;
pub mod text;
