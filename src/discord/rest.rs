//! (stub: being written on branch `rest`)
