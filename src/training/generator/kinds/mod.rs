//! The generator families. Each module exports `family(mode, n_classes, &Overrides)` and
//! `from_hyper(&serde_json::Value)`, both returning a `Box<dyn Family>`
//! ([`super::algorithm::Family`]); the networks themselves live in `models::generators`.
pub mod cgan;
pub mod dgan;
pub mod dp_merf;
pub mod timegan;
