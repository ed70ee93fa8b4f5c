//! (stub: being written on branch `render`)
