//! (stub: being written on branch `fetch`)
