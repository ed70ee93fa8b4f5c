//! Operating newshound: the Prometheus metrics every adapter counts into, and the optional
//! HTTP listener (`[http] listen`) serving them with health checks and a status page.

pub mod http;
pub mod metrics;
pub mod status_page;
pub mod websub;
