//! The page's components.
//!
//! - [`app`]: the page, wiring the worker's messages to the state.
//! - [`worker_handle`]: the handle on one Web Worker that owns a model.
//! - [`pool`]: one or more such workers; long text is spread over them chunk by chunk.
//! - [`input`]: typing, pasting, opening or dropping text.
//! - [`controls`]: type toggles, confidence threshold, exports.
//! - [`status`]: the model's loading state, the offline copy and the concept index.
//! - [`result`]: the highlighted text and the run's figures.
//! - [`panel`]: unique entities with counts.
//! - [`pwa`]: the service worker and the update offer.

mod app;
mod controls;
mod input;
mod panel;
mod pool;
mod pwa;
mod result;
mod status;
mod worker_handle;

pub use app::App;
