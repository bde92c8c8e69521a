//! The page's components.
//!
//! - [`app`]: the page, wiring the worker's messages to the state.
//! - [`model`]: the handle on the Web Worker that owns the model.
//! - [`input`]: typing, pasting, opening or dropping text.
//! - [`controls`]: type toggles, confidence threshold, exports.
//! - [`result`]: the highlighted text and the run's figures.
//! - [`panel`]: unique entities with counts.
//! - [`pwa`]: the service worker and the update offer.

mod app;
mod controls;
mod input;
mod model;
mod panel;
mod pwa;
mod result;

pub use app::App;
