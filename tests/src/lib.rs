//! End-to-end tests across Weft crates live in `tests/`.
