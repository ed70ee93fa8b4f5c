//! (stub: being written on branch `parse`)
