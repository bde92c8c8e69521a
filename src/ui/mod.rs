//! The page's components.

mod app;
mod model;

pub use app::App;
